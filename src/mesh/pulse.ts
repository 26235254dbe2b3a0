/**
 * The pulse: an announcer's heartbeats to its heirs, sent and watched outside
 * the event loop (native/pulse.c, docs/election.md "The pulse"). This is the
 * mesh's side: the members' ids and pair keys (whose subscriptions the
 * thread accepts), the announcers to watch and where to subscribe to them,
 * the lease that keeps a hung event loop from pulsing, and the events the
 * close watch (watch.ts) acts on. The link itself (the addon's thread) is given.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Clock, Timer } from '../clock/index.ts';
import { MeshConfigError } from './config.ts';

/** Settings of the pulse (under `speaker.watch`, docs/configuration.md). */
export interface PulseConfig {
  /** Between an announcer's pulses to each heir. Lower sees a cut sooner; costs one 28-byte datagram per heir per interval, sent by a native thread. */
  pulseIntervalMs: number;
  /** An heir that heard nothing for this long asks at once (a confirming check). 3 intervals: one or two lost or late pulses are not a silence (at 2½, 5% loss made ~25 silences a second in a 5-node lab). */
  pulseSilenceMs: number;
  /** The confirming check's deadline for a direct or relayed ack; a pulse arriving meanwhile ends it too. */
  pulseConfirmMs: number;
  /**
   * A silent announcer whose host still accepts a connection (a knock on its
   * mesh port) is a stopped or starved process, not a cut or a crash: it has
   * this long from the silence before the verdict. Long enough for a process
   * descheduled on a loaded node (30–100 ms measured on 2 cores) to come
   * back; SIGSTOP's failover is about this plus the silence.
   */
  pulseStallMs: number;
  /**
   * Pulses go only this long after the event loop last renewed the lease
   * (every third of it): a loop hung longer falls silent. Long enough that a
   * collection pause or a starved 2-core node never lapses it (the confirming
   * check would then fail too: a false takeover); a hung loop (a deadlock)
   * costs up to this much more. A crash, SIGSTOP or a cut stop the thread at once.
   */
  pulseLeaseMs: number;
}

export const PULSE_DEFAULTS: PulseConfig = Object.freeze({
  pulseIntervalMs: 4,
  pulseSilenceMs: 12,
  pulseConfirmMs: 15,
  pulseStallMs: 70,
  pulseLeaseMs: 1_000,
});

/**
 * Checks the pulse's settings against each other; throws MeshConfigError
 * naming the first broken rule. A silence of one interval would be reported
 * (and confirmed by a check) at every late pulse; a lease of less than three
 * intervals lapses between renewals of a busy loop.
 */
export function validatePulseConfig(c: PulseConfig): PulseConfig {
  const { pulseIntervalMs: i, pulseSilenceMs: s, pulseLeaseMs: l, pulseConfirmMs: k } = c;
  if (!(Number.isInteger(i) && i >= 1 && i <= 10_000))
    throw new MeshConfigError(`pulseIntervalMs must be 1…10000, got ${i}`);
  if (!(Number.isInteger(s) && s >= 2 * i && s <= 600_000))
    throw new MeshConfigError(
      `pulseSilenceMs must be at least twice pulseIntervalMs (${2 * i}) and ≤ 600000, got ${s}`,
    );
  if (!(Number.isInteger(l) && l >= 3 * i && l <= 600_000))
    throw new MeshConfigError(
      `pulseLeaseMs must be at least three times pulseIntervalMs (${3 * i}) and ≤ 600000, got ${l}`,
    );
  if (!(Number.isInteger(k) && k >= 1 && k <= 600_000))
    throw new MeshConfigError(`pulseConfirmMs must be 1…600000, got ${k}`);
  if (!(Number.isInteger(c.pulseStallMs) && c.pulseStallMs >= k && c.pulseStallMs <= 600_000))
    throw new MeshConfigError(
      `pulseStallMs must be at least pulseConfirmMs (${k}) and ≤ 600000, got ${c.pulseStallMs}`,
    );
  return c;
}

/** What an heir heard of an announcer's pulses: its first (or first again after a silence), or a silence. */
export type PulseEvent = 'heard' | 'silent';

/** The link's counts since it opened (datagrams; src/arp/native.ts PulseStats). */
export interface PulseCounts {
  sent: number;
  sendErrors: number;
  received: number;
  accepted: number;
  malformed: number;
  badTag: number;
  replayed: number;
  unknown: number;
  subscriptions: number;
  subscribers: number;
}

/** The addon's pulse (src/arp/pulse-socket.ts), as the mesh uses it. */
export interface PulseLink {
  /** The local UDP port. */
  readonly port: number;
  /** The members whose subscriptions it accepts (and pulses, while the lease holds). */
  peers(peers: readonly { id: Uint8Array; key: Uint8Array }[]): void;
  /** The announcers it watches; with an address, it subscribes to their pulses. */
  watch(
    watched: readonly {
      id: Uint8Array;
      key: Uint8Array;
      silenceMs: number;
      address?: string;
      port?: number;
    }[],
  ): void;
  renew(): void;
  /** Milliseconds since the last pulse accepted from `id`, or undefined if none. */
  heardAgoMs(id: Uint8Array): number | undefined;
  /** Events: `id` in hex. */
  onEvent(listener: (event: PulseEvent, id: string, agoMs: number) => void): void;
  /** Undefined once closed. */
  stats(): PulseCounts | undefined;
  close(): void;
}

/** What the mesh knows of its members' pulses. */
export interface PulsePeers {
  /** Every member but this node. */
  members(): Iterable<string>;
  /** A member's address (where its pulse is, on the cluster's pulse port). */
  address(node: string): string | undefined;
  /** The pair's 16-byte pulse key (both ends can make it; nobody else). */
  key(node: string): Uint8Array | undefined;
}

/** A member's 8-byte pulse id: the frame names its sender with it. */
export function pulseIdOf(node: string): Uint8Array {
  return createHash('sha256').update(`meshlb/pulse/1 ${node}`).digest().subarray(0, 8);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sameFamily = (a: string, b: string): boolean => isIPv4(a) === isIPv4(b);

/**
 * Who is whose heir is each heir's decision: it subscribes to the announcers
 * it watches (the addon's thread renews that every second), and an announcer
 * pulses whoever subscribed. So the announcer's own view of its heirs, which
 * lags or leads theirs after every change, never decides who hears it.
 */
export class Pulses {
  readonly config: PulseConfig;
  readonly #clock: Clock;
  readonly #link: PulseLink;
  readonly #peers: PulsePeers;
  /** The port every member's pulse listens on (one setting for the cluster). */
  readonly #port: number;
  /** This node's address: announcers of the other family are not reachable from its socket. */
  readonly #address: string;
  readonly #listeners = new Set<(node: string, event: PulseEvent, agoMs: number) => void>();
  /** Watched: hex id → node. */
  readonly #byId = new Map<string, string>();
  #watched: readonly string[] = [];
  #lastPeers = '';
  #lastWatched = '';
  #renewal: Timer | undefined;
  #stopped = false;
  /** Silences that ended with the announcer's pulses back. */
  #falseSilences = 0;

  constructor(opts: {
    clock: Clock;
    link: PulseLink;
    peers: PulsePeers;
    /** This node's address and the cluster's pulse port. */
    address: string;
    port: number;
    config?: Partial<PulseConfig>;
  }) {
    this.#clock = opts.clock;
    this.#link = opts.link;
    this.#peers = opts.peers;
    this.#address = opts.address;
    this.#port = opts.port;
    this.config = { ...PULSE_DEFAULTS, ...opts.config };
    this.#link.onEvent((event, id, agoMs) => {
      if (event === 'heard' && agoMs > 0) this.#falseSilences++;
      const node = this.#byId.get(id);
      if (node !== undefined) for (const l of this.#listeners) l(node, event, agoMs);
    });
  }

  start(): void {
    this.#renew();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#renewal?.cancel();
    this.#link.close();
  }

  /** Watch these members' pulses (the announcers this node is an heir of). */
  watch(nodes: Iterable<string>): void {
    this.#watched = [...new Set(nodes)].sort();
    this.refresh();
  }

  /**
   * Passes the members' keys and the watched set to the link again if they
   * changed (members joined, keys and addresses learnt since). Also run at
   * every lease renewal.
   */
  refresh(): void {
    if (this.#stopped) return;
    const peers = [...this.#peers.members()].sort().flatMap((node) => {
      const key = this.#peers.key(node);
      return key === undefined ? [] : [{ node, id: pulseIdOf(node), key }];
    });
    const p = peers.map((x) => `${x.node}/${hex(x.key)}`).join(',');
    if (p !== this.#lastPeers) {
      this.#lastPeers = p;
      this.#link.peers(peers);
    }
    const watched = this.#watched.flatMap((node) => {
      const key = this.#peers.key(node);
      if (key === undefined) return [];
      const address = this.#peers.address(node);
      const where =
        address === undefined || !sameFamily(address, this.#address) ? {} : { address, port: this.#port };
      return [{ node, id: pulseIdOf(node), key, silenceMs: this.config.pulseSilenceMs, ...where }];
    });
    const w = watched.map((x) => `${x.node}@${x.address ?? '-'}/${hex(x.key)}`).join(',');
    if (w !== this.#lastWatched) {
      this.#lastWatched = w;
      this.#byId.clear();
      for (const x of watched) this.#byId.set(hex(x.id), x.node);
      this.#link.watch(watched);
    }
  }

  /** Whether a pulse from `node` arrived at or after `at` (this clock's time). */
  heardSince(node: string, at: number): boolean {
    const ago = this.#link.heardAgoMs(pulseIdOf(node));
    return ago !== undefined && this.#clock.now() - ago >= at;
  }

  /** `agoMs`: for 'heard', how long it had been silent (0 the first time); for 'silent', since its last pulse. */
  onChange(listener: (node: string, event: PulseEvent, agoMs: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): PulseCounts | undefined {
    return this.#stopped ? undefined : this.#link.stats();
  }

  /** Silences (no pulse for pulseSilenceMs) that ended with the pulses back, since start. */
  get silencesHeardAgain(): number {
    return this.#falseSilences;
  }

  /** Members whose subscriptions are accepted, and announcers watched (with a known key). */
  get state(): { peers: number; watching: number } {
    return {
      peers: this.#lastPeers === '' ? 0 : this.#lastPeers.split(',').length,
      watching: this.#byId.size,
    };
  }

  #renew(): void {
    if (this.#stopped) return;
    this.#link.renew();
    this.refresh();
    this.#renewal = this.#clock.setTimeout(() => {
      this.#renew();
    }, this.config.pulseLeaseMs / 3);
  }
}
