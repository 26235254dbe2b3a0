import { isIPv4 } from 'node:net';
import { AnnouncedIps, cancel, live, type Announced, type LinkState } from './announced.ts';
import { Announcer } from './announcer.ts';
import { AnswerTables } from './answer-tables.ts';
import { Answerer } from './answerer.ts';
import * as codec from './codec/index.ts';
import { validateWireConfig, type WireConfig } from './config.ts';
import { ConflictTracker } from './conflicts.ts';
import { LinkIo } from './link-io.ts';
import type { Link, Received } from './link.ts';
import type { AnnounceOptions, ResponderInit, WireEvent, WireStats } from './responder-types.ts';

/**
 * The ARP/NDP responder's core: which IPs this node announces on which links,
 * what to answer, when to send gratuitous frames, and what counts as a
 * conflict. It does no I/O of its own: links are injected (`Link`), received
 * frames are handed in (`receive`), timers run on the injected Clock.
 *
 * This class keeps the IPs and the links and wires the parts that act on
 * them: announcer.ts (an IP's life on a link: probes, bursts, refresh),
 * answerer.ts (received frames: answers, drops, conflicts), link-io.ts
 * (sending and multicast groups).
 */
export class Responder {
  readonly config: WireConfig;
  readonly #onEvent: (e: WireEvent) => void;
  readonly #holdOnLinkUp: boolean;
  readonly #links = new Map<string, LinkState>();
  readonly #ips = new AnnouncedIps();
  readonly #conflicts: ConflictTracker;
  readonly #io: LinkIo;
  readonly #announcer: Announcer;
  readonly #answerer: Answerer;
  readonly #tables: AnswerTables;
  readonly #stats: WireStats = {
    requests: { arp: 0, ndp: 0 },
    answered: { arp: 0, ndp: 0 },
    announcements: { arp: 0, ndp: 0 },
    bursts: { arp: 0, ndp: 0 },
    probes: 0,
    conflicts: 0,
    peerAnswers: 0,
    sendErrors: 0,
    dropped: {
      otherhost: 0,
      own: 0,
      malformed: 0,
      'not-ours': 0,
      'hop-limit': 0,
      'multicast-target': 0,
      'dad-with-source-link-layer': 0,
      'dad-not-to-solicited-node': 0,
      'solicited-to-multicast': 0,
      held: 0,
    },
  };

  constructor(init: ResponderInit) {
    this.config = validateWireConfig(init.config);
    this.#onEvent = init.onEvent ?? ((): void => undefined);
    this.#holdOnLinkUp = init.holdOnLinkUp ?? false;
    this.#conflicts = new ConflictTracker(
      init.clock,
      this.config.conflictGraceMs,
      this.config.conflictReportIntervalMs,
    );
    this.#io = new LinkIo(this.#stats, this.#onEvent);
    this.#tables = new AnswerTables(this.#ips, this.#links, this.#io);
    // What the links answer on their own follows what is answered (answer-tables.ts).
    const onEvent = (e: WireEvent): void => {
      if (e.type === 'announcing') this.#tables.grew();
      else if (e.type === 'withdrawn') this.#tables.shrank();
      this.#onEvent(e);
    };
    const shared = { stats: this.#stats, onEvent, links: this.#links };
    this.#announcer = new Announcer({
      ...shared,
      config: this.config,
      clock: init.clock,
      random: init.random ?? Math.random,
      io: this.#io,
    });
    this.#answerer = new Answerer({
      ...shared,
      ips: this.#ips,
      peerOf: init.peerOf ?? ((): undefined => undefined),
      conflicts: this.#conflicts,
      io: this.#io,
    });
  }

  /** A copy of the counters. */
  stats(): WireStats {
    return structuredClone(this.#stats);
  }

  /** IPs announced (answering, not probing) on each link. */
  announced(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const a of this.#ips.values())
      for (const [ifname, s] of a.on)
        if (s.since !== undefined) out.set(ifname, [...(out.get(ifname) ?? []), a.ip]);
    return out;
  }

  /** Adds a link (or replaces one of the same name, e.g. after its MAC changed). */
  addLink(link: Link, up: boolean): void {
    if (this.#links.has(link.name)) this.removeLink(link.name);
    this.#links.set(link.name, {
      link,
      mac: codec.macToBytes(link.mac),
      up,
      held: false,
      groups: new Map(),
    });
    for (const a of this.#ips.values()) if (this.#wants(a, link.name)) this.#announcer.start(a, link.name);
    this.#tables.grew();
    this.#onEvent({ type: 'link', ifname: link.name, up });
  }

  /** The link went away: stop everything on it (no frames, no events for it). */
  removeLink(ifname: string): void {
    const ls = this.#links.get(ifname);
    if (ls === undefined) return;
    for (const a of this.#ips.values()) this.#announcer.stop(a, ifname);
    this.#io.leaveAll(ls);
    this.#links.delete(ifname);
    this.#tables.forget(ifname);
    this.#onEvent({ type: 'link', ifname, up: false });
  }

  /**
   * Carrier / admin state changed. Down: timers stop (sending would fail).
   * Up again: every IP on it gets a fresh burst (the switch may have
   * forgotten us; clients may have failed over elsewhere meanwhile), at once
   * or, with holdOnLinkUp, when the link is released.
   */
  setLinkUp(ifname: string, up: boolean): void {
    const ls = this.#links.get(ifname);
    if (ls === undefined || ls.up === up) return;
    ls.up = up;
    if (up && this.#holdOnLinkUp) ls.held = true;
    // A link down answers nothing on its own, nor one held: a request that arrives when
    // it comes back, before the hold is released, must not be answered by the addon.
    if (live(ls)) this.#tables.grew();
    else this.#tables.shrank();
    this.#onEvent({ type: 'link', ifname, up });
    for (const a of this.#ips.values()) {
      const s = a.on.get(ifname);
      if (s !== undefined) cancel(s);
    }
    if (live(ls)) this.#resume(ls);
  }

  /**
   * Ends the hold of a link back up (holdOnLinkUp): what is still announced on
   * it gets its burst and is answered again. The caller withdraws first what
   * it no longer owns. Nothing happens for a link that is not held.
   */
  release(ifname: string): void {
    const ls = this.#links.get(ifname);
    if (ls === undefined || !ls.held) return;
    ls.held = false;
    this.#tables.grew();
    if (live(ls)) this.#resume(ls);
  }

  /** Links held now (holdOnLinkUp), by name. */
  held(): string[] {
    return [...this.#links.values()].filter((ls) => ls.held).map((ls) => ls.link.name);
  }

  /** A link sending again: every IP on it gets a fresh burst, or its probe again. */
  #resume(ls: LinkState): void {
    for (const a of this.#ips.values()) {
      const s = a.on.get(ls.link.name);
      if (s === undefined) continue;
      cancel(s);
      if (s.since === undefined) this.#announcer.probe(a, ls, s);
      else this.#announcer.burst(a, ls.link.name, s);
    }
  }

  /** Starts announcing `ip`, or updates its interfaces. Idempotent. */
  announce(ip: string, opts: AnnounceOptions = {}): void {
    const key = codec.canonicalIp(ip); // throws InvalidAddressError
    let a = this.#ips.get(key);
    const interfaces = opts.interfaces === undefined ? undefined : new Set(opts.interfaces);
    if (a === undefined) {
      a = { ip: key, v4: isIPv4(key), interfaces, probe: opts.probe ?? false, on: new Map() };
      this.#ips.add(a);
    } else {
      a.interfaces = interfaces;
    }
    this.#tables.grew(); // a new known IP
    for (const ifname of [...a.on.keys()]) if (!this.#wants(a, ifname)) this.#announcer.stop(a, ifname);
    for (const ifname of this.#links.keys()) if (this.#wants(a, ifname)) this.#announcer.start(a, ifname);
  }

  /**
   * Sends a burst again for `ip` on every link it is answered on (then the
   * refresh resumes): clients that a rival's announcement moved away come
   * back. For a lost race between speakers (the speaker calls it when
   * another node's claim for an IP it holds arrives and loses), not for a
   * conflict with a foreign host, which is reported and never fought.
   */
  reannounce(ip: string): void {
    const a = this.#ips.get(codec.canonicalIp(ip));
    if (a === undefined) return;
    for (const [ifname, s] of a.on) {
      if (s.since === undefined || !live(this.#links.get(ifname))) continue;
      cancel(s);
      this.#announcer.burst(a, ifname, s);
    }
  }

  /** Stops answering for `ip` at once, on every link. */
  withdraw(ip: string): void {
    const a = this.#ips.get(codec.canonicalIp(ip));
    if (a === undefined) return;
    for (const ifname of [...a.on.keys()]) this.#announcer.stop(a, ifname);
    this.#ips.delete(a);
    this.#tables.grew(); // one known IP less: only more left to the responder until then
    this.#conflicts.forget(a.ip);
  }

  /** Withdraws everything (shutdown). */
  stop(): void {
    for (const ip of [...this.#ips.keys()]) this.withdraw(ip);
  }

  /**
   * A frame from a link's packet sockets (already filtered to ARP / NS / NA by
   * the kernel). Returns true when it was answered.
   */
  receive(ifname: string, frame: Received): boolean {
    const ls = this.#links.get(ifname);
    if (ls === undefined) return false;
    return this.#answerer.receive(ls, frame);
  }

  #wants(a: Announced, ifname: string): boolean {
    return this.#links.has(ifname) && (a.interfaces === undefined || a.interfaces.has(ifname));
  }
}
