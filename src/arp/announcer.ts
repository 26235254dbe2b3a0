/**
 * An announced IP's life on one link, on the Clock: it starts (joining its
 * solicited-node group for IPv6), probes first if asked (RFC 5227 / DAD),
 * then answers with a burst of gratuitous frames and a jittered refresh, until
 * it stops. The frames it sends unasked are all here; answers are in
 * answerer.ts.
 */
import { OwnedTimers, type Clock } from '../clock/index.ts';
import { cancel, live, type Announced, type LinkState, type OnLink } from './announced.ts';
import * as codec from './codec/index.ts';
import type { WireConfig } from './config.ts';
import type { LinkIo } from './link-io.ts';
import type { WireEvent, WireStats } from './responder-types.ts';

export interface AnnouncerInit {
  config: WireConfig;
  clock: Clock;
  /** For refresh jitter. */
  random: () => number;
  stats: WireStats;
  onEvent: (e: WireEvent) => void;
  /** The responder's links (read only here). */
  links: ReadonlyMap<string, LinkState>;
  io: LinkIo;
}

export class Announcer {
  readonly #config: WireConfig;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #stats: WireStats;
  readonly #onEvent: (e: WireEvent) => void;
  readonly #links: ReadonlyMap<string, LinkState>;
  readonly #io: LinkIo;

  constructor(init: AnnouncerInit) {
    this.#config = init.config;
    this.#clock = init.clock;
    this.#random = init.random;
    this.#stats = init.stats;
    this.#onEvent = init.onEvent;
    this.#links = init.links;
    this.#io = init.io;
  }

  /** Starts `a` on the link (nothing if it is there already, or the link is unknown). */
  start(a: Announced, ifname: string): void {
    if (a.on.has(ifname)) return;
    const ls = this.#links.get(ifname);
    if (ls === undefined) return;
    const s: OnLink = { since: undefined, timers: new OwnedTimers(this.#clock) };
    a.on.set(ifname, s);
    if (!a.v4) this.#io.join(ls, codec.solicitedNodeMac(a.ip));
    if (!a.probe || this.#config.probeWaitMs === 0) this.#answer(a, ifname, s, false);
    else if (live(ls)) this.probe(a, ls, s);
  }

  /** Two probes (one may be lost), probeWaitMs / 2 apart, then answer. A link going down restarts it. */
  probe(a: Announced, ls: LinkState, s: OnLink): void {
    const wait = this.#config.probeWaitMs;
    const probe = (): void => {
      this.#io.send(ls, a.v4 ? codec.arpProbe(ls.link.mac, a.ip) : codec.dadSolicitation(ls.link.mac, a.ip));
      this.#stats.probes++;
    };
    probe();
    s.timers.after(wait / 2, probe);
    s.timers.after(wait, () => {
      this.#answer(a, ls.link.name, s, true);
    });
  }

  #answer(a: Announced, ifname: string, s: OnLink, probed: boolean): void {
    cancel(s);
    s.since = this.#clock.now();
    this.#onEvent({ type: 'announcing', ip: a.ip, ifname, probed });
    if (live(this.#links.get(ifname))) this.burst(a, ifname, s);
  }

  /** Stops `a` on the link: its timers, its group; 'withdrawn' if it was answering. */
  stop(a: Announced, ifname: string): void {
    const s = a.on.get(ifname);
    if (s === undefined) return;
    cancel(s);
    a.on.delete(ifname);
    const ls = this.#links.get(ifname);
    if (ls !== undefined && !a.v4) this.#io.leave(ls, codec.solicitedNodeMac(a.ip));
    if (s.since !== undefined) this.#onEvent({ type: 'withdrawn', ip: a.ip, ifname });
  }

  /** burstCount gratuitous frames burstIntervalMs apart, then the jittered refresh. */
  burst(a: Announced, ifname: string, s: OnLink): void {
    let left = this.#config.burstCount;
    this.#stats.bursts[a.v4 ? 'arp' : 'ndp']++;
    const tick = (): void => {
      this.#gratuitous(a, ifname);
      if (--left > 0) s.timers.after(this.#config.burstIntervalMs, tick);
      else this.#refresh(a, ifname, s);
    };
    tick();
  }

  #refresh(a: Announced, ifname: string, s: OnLink): void {
    const every = this.#config.refreshIntervalMs;
    if (every === 0) return;
    s.timers.after(every * (0.9 + 0.2 * this.#random()), () => {
      this.#gratuitous(a, ifname);
      this.#refresh(a, ifname, s);
    });
  }

  #gratuitous(a: Announced, ifname: string): void {
    const ls = this.#links.get(ifname);
    if (ls === undefined || !live(ls)) return;
    if (a.v4) {
      // The request form: Linux applies arp `locktime` to a reply whose target MAC is
      // broadcast and may ignore it for up to 1 s after its last update.
      this.#io.send(ls, codec.gratuitousArpRequest(ls.link.mac, a.ip));
      this.#stats.announcements.arp++;
    } else {
      this.#io.send(ls, codec.unsolicitedNeighborAdvertisement({ mac: ls.link.mac, ip: a.ip }));
      this.#stats.announcements.ndp++;
    }
  }
}
