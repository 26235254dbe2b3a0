/**
 * The responder's state: the IPs it announces (looked up by text, and by
 * bytes on the fast paths), where each one is on a link (probing or
 * answering, with its timers), and the links it has.
 */
import type { OwnedTimers } from '../clock/index.ts';
import * as codec from './codec/index.ts';
import { ipv4Number } from './fast-arp.ts';
import { ipv6Hash, sameIpv6 } from './fast-ndp.ts';
import type { Link } from './link.ts';

export interface Announced {
  ip: string;
  v4: boolean;
  /** IPv6: the address's bytes (the NDP fast path compares them). */
  bytes?: Uint8Array;
  interfaces: ReadonlySet<string> | undefined;
  probe: boolean;
  /** Per link name. */
  on: Map<string, OnLink>;
}

export interface OnLink {
  /** Answering; undefined while probing. Monotonic ms. */
  since: number | undefined;
  timers: OwnedTimers;
}

export interface LinkState {
  link: Link;
  /** link.mac as bytes, for the fast path. */
  mac: Uint8Array;
  up: boolean;
  /**
   * Up again after being down, and not released yet (ResponderInit.holdOnLinkUp):
   * nothing is answered or sent on it.
   */
  held: boolean;
  /** Joined multicast MACs with reference counts (IPv6 solicited-node groups). */
  groups: Map<string, number>;
}

/** Whether frames may go out on the link: up and not held. */
export const live = (ls: LinkState | undefined): boolean => ls !== undefined && ls.up && !ls.held;

/** Stops what an IP has pending on a link (probes, burst, refresh). */
export function cancel(s: OnLink): void {
  s.timers.cancelAll();
}

/** The announced IPs by canonical text, and by bytes for the fast paths. */
export class AnnouncedIps {
  readonly #ips = new Map<string, Announced>();
  /** The IPv4 entries of #ips by address as a 32-bit number, the IPv6 ones by hex bytes (the fast paths). */
  readonly #v4 = new Map<number, Announced>();
  readonly #v6 = new Map<number, Announced[]>();

  get(ip: string): Announced | undefined {
    return this.#ips.get(ip);
  }

  values(): IterableIterator<Announced> {
    return this.#ips.values();
  }

  keys(): IterableIterator<string> {
    return this.#ips.keys();
  }

  add(a: Announced): void {
    this.#ips.set(a.ip, a);
    if (a.v4) this.#v4.set(ipv4Number(codec.ipv4ToBytes(a.ip)), a);
    else {
      const h = ipv6Hash(codec.ipv6ToBytes(a.ip));
      this.#v6.set(h, [...(this.#v6.get(h) ?? []), a]);
    }
  }

  delete(a: Announced): void {
    this.#ips.delete(a.ip);
    if (a.v4) this.#v4.delete(ipv4Number(codec.ipv4ToBytes(a.ip)));
    else {
      const h = ipv6Hash(codec.ipv6ToBytes(a.ip));
      const rest = (this.#v6.get(h) ?? []).filter((x) => x !== a);
      if (rest.length > 0) this.#v6.set(h, rest);
      else this.#v6.delete(h);
    }
  }

  /** The announced IPv4 address whose 32-bit number is `n`, if any. */
  v4(n: number): Announced | undefined {
    return this.#v4.get(n);
  }

  /** The announced IPv6 address at `off` in frame `f` (hash `h`), if any. */
  v6(f: Uint8Array, h: number, off: number): Announced | undefined {
    const list = this.#v6.get(h);
    return list?.find((a) => sameIpv6(f, off, (a.bytes ??= codec.ipv6ToBytes(a.ip))));
  }
}
