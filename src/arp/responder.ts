import { isIPv4 } from 'node:net';
import type { Clock, Timer } from '../clock/index.ts';
import * as codec from './codec/index.ts';
import { validateWireConfig, type WireConfig } from './config.ts';
import { ConflictTracker, type ConflictEvidence } from './conflicts.ts';
import { arpReplyTo, arpRequestKey, fromMac, ipv4Number } from './fast-arp.ts';
import { ipv6Hash, naReplyTo, NS_SOURCE, NS_TARGET, nsKey, sameIpv6 } from './fast-ndp.ts';
import type { Link, Received } from './link.ts';
import type { AnnounceOptions, DropReason, ResponderInit, WireEvent, WireStats } from './responder-types.ts';

interface Announced {
  ip: string;
  v4: boolean;
  /** IPv6: the address's bytes (the NDP fast path compares them). */
  bytes?: Uint8Array;
  interfaces: ReadonlySet<string> | undefined;
  probe: boolean;
  /** Per link name. */
  on: Map<string, OnLink>;
}

interface OnLink {
  /** Answering; undefined while probing. Monotonic ms. */
  since: number | undefined;
  timers: Timer[];
}

interface LinkState {
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
const live = (ls: LinkState | undefined): boolean => ls !== undefined && ls.up && !ls.held;

/**
 * The ARP/NDP responder's core: which IPs this node announces on which links,
 * what to answer, when to send gratuitous frames, and what counts as a
 * conflict. It does no I/O of its own: links are injected (`Link`), received
 * frames are handed in (`receive`), timers run on the injected Clock.
 *
 * Answers: ARP requests for an announced IPv4 address get a reply with the
 * link's MAC; neighbour solicitations (hop limit 255 only) get a solicited NA
 * from the VIP itself with the override flag, or, for a duplicate address
 * detection probe (source ::), an NA to all-nodes (RFC 4861 §7.2.4), which
 * makes the other host's DAD fail. Nothing else is ever answered.
 */
export class Responder {
  readonly config: WireConfig;
  readonly #clock: Clock;
  readonly #onEvent: (e: WireEvent) => void;
  readonly #peerOf: (mac: string) => string | undefined;
  readonly #random: () => number;
  readonly #holdOnLinkUp: boolean;
  readonly #links = new Map<string, LinkState>();
  readonly #ips = new Map<string, Announced>();
  /** The IPv4 entries of #ips by address as a 32-bit number, the IPv6 ones by hex bytes (the fast paths). */
  readonly #v4 = new Map<number, Announced>();
  readonly #v6 = new Map<number, Announced[]>();
  readonly #conflicts: ConflictTracker;
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
    this.#clock = init.clock;
    this.#onEvent = init.onEvent ?? ((): void => undefined);
    this.#peerOf = init.peerOf ?? ((): undefined => undefined);
    this.#random = init.random ?? Math.random;
    this.#holdOnLinkUp = init.holdOnLinkUp ?? false;
    this.#conflicts = new ConflictTracker(
      init.clock,
      this.config.conflictGraceMs,
      this.config.conflictReportIntervalMs,
    );
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
    for (const a of this.#ips.values()) if (this.#wants(a, link.name)) this.#start(a, link.name);
    this.#onEvent({ type: 'link', ifname: link.name, up });
  }

  /** The link went away: stop everything on it (no frames, no events for it). */
  removeLink(ifname: string): void {
    const ls = this.#links.get(ifname);
    if (ls === undefined) return;
    for (const a of this.#ips.values()) this.#stop(a, ifname);
    for (const mac of ls.groups.keys())
      this.#try(ls, () => {
        ls.link.leave(mac);
      });
    this.#links.delete(ifname);
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
      if (s.since === undefined) this.#probe(a, ls, s);
      else this.#burst(a, ls.link.name, s);
    }
  }

  /** Starts announcing `ip`, or updates its interfaces. Idempotent. */
  announce(ip: string, opts: AnnounceOptions = {}): void {
    const key = codec.canonicalIp(ip); // throws InvalidAddressError
    let a = this.#ips.get(key);
    const interfaces = opts.interfaces === undefined ? undefined : new Set(opts.interfaces);
    if (a === undefined) {
      a = { ip: key, v4: isIPv4(key), interfaces, probe: opts.probe ?? false, on: new Map() };
      this.#ips.set(key, a);
      if (a.v4) this.#v4.set(ipv4Number(codec.ipv4ToBytes(key)), a);
      else {
        const h = ipv6Hash(codec.ipv6ToBytes(key));
        this.#v6.set(h, [...(this.#v6.get(h) ?? []), a]);
      }
    } else {
      a.interfaces = interfaces;
    }
    for (const ifname of [...a.on.keys()]) if (!this.#wants(a, ifname)) this.#stop(a, ifname);
    for (const ifname of this.#links.keys()) if (this.#wants(a, ifname)) this.#start(a, ifname);
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
      this.#burst(a, ifname, s);
    }
  }

  /** Stops answering for `ip` at once, on every link. */
  withdraw(ip: string): void {
    const a = this.#ips.get(codec.canonicalIp(ip));
    if (a === undefined) return;
    for (const ifname of [...a.on.keys()]) this.#stop(a, ifname);
    this.#ips.delete(a.ip);
    if (a.v4) this.#v4.delete(ipv4Number(codec.ipv4ToBytes(a.ip)));
    else {
      const h = ipv6Hash(codec.ipv6ToBytes(a.ip));
      const rest = (this.#v6.get(h) ?? []).filter((x) => x !== a);
      if (rest.length > 0) this.#v6.set(h, rest);
      else this.#v6.delete(h);
    }
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
    const { answered, requests } = this.#stats;
    // Requests counted on bytes (no allocation: the hot path): EtherType, then
    // the ARP opcode or the ICMPv6 type of an IPv6 header without extensions.
    const d = frame.data;
    if (d[12] === 0x08 && d[13] === 0x06) {
      if (d[20] === 0 && d[21] === 1) requests.arp++;
    } else if (d[12] === 0x86 && d[13] === 0xdd && d[20] === 58 && d[54] === 135) requests.ndp++;
    const before = answered.arp + answered.ndp;
    const dropped = this.#fast(ls, frame) ?? this.#handle(ls, frame);
    if (dropped !== undefined && dropped !== 'answered') this.#stats.dropped[dropped]++;
    return answered.arp + answered.ndp !== before;
  }

  /**
   * The common cases, on bytes (fast-arp.ts, fast-ndp.ts): an ARP request or
   * a (non-DAD) neighbour solicitation from another host whose source is not
   * one of our IPs. Returns 'answered', a drop reason, or undefined to take
   * the general path.
   */
  #fast(ls: LinkState, frame: Received): DropReason | 'answered' | undefined {
    const { pktType, data } = frame;
    if (pktType !== 'broadcast' && pktType !== 'host' && pktType !== 'multicast') return undefined;
    let a: Announced | undefined;
    let reply: () => Buffer;
    const arp = arpRequestKey(data);
    if (arp !== undefined) {
      if (this.#v4.has(arp.sender) || fromMac(data, ls.mac)) return undefined;
      a = this.#v4.get(arp.target);
      reply = () => arpReplyTo(data, ls.mac);
    } else {
      const ns = nsKey(data);
      if (ns === undefined || this.#v6Of(data, ns.source, NS_SOURCE) !== undefined || fromMac(data, ls.mac))
        return undefined;
      a = this.#v6Of(data, ns.target, NS_TARGET);
      reply = () => naReplyTo(data, ns, ls.mac);
    }
    if (a === undefined) return 'not-ours';
    // Not here, probing, or held: the general path decides (and sees sightings).
    if (a.on.get(ls.link.name)?.since === undefined || ls.held) return undefined;
    this.#send(ls, reply());
    if (a.v4) this.#stats.answered.arp++;
    else this.#stats.answered.ndp++;
    return 'answered';
  }

  /** The announced IPv6 address at `off` in frame `f` (hash `h`), if any. */
  #v6Of(f: Uint8Array, h: number, off: number): Announced | undefined {
    const list = this.#v6.get(h);
    return list?.find((a) => sameIpv6(f, off, (a.bytes ??= codec.ipv6ToBytes(a.ip))));
  }

  /** Acts on one frame; returns why it was dropped, if it was. */
  #handle(ls: LinkState, frame: Received): DropReason | undefined {
    if (frame.pktType === 'otherhost') return 'otherhost';
    if (frame.pktType === 'outgoing' || frame.pktType === 'loopback') return 'own';
    let f: codec.ParsedFrame;
    try {
      f = codec.parseFrame(frame.data);
    } catch (e) {
      if (e instanceof codec.FrameParseError) return 'malformed';
      throw e;
    }
    if (f.ethernet.src === ls.link.mac) return 'own';
    if (f.kind === 'arp') return this.#onArp(ls, f.arp);
    const violation = codec.ndpViolation(f);
    if (violation !== undefined) return violation;
    return f.kind === 'na' ? this.#onNa(ls, f) : this.#onNs(ls, f);
  }

  #onArp(ls: LinkState, arp: codec.ArpPacket): DropReason | undefined {
    const ifname = ls.link.name;
    // Someone else using one of our IPs as its own address (a reply, a request or a gratuitous ARP from it).
    const used = this.#lookup(arp.senderIp, ifname);
    if (used !== undefined)
      this.#sighting(used, ifname, arp.senderMac, arp.op === 'reply' ? 'arp-reply' : 'arp-sender');
    const target =
      arp.op === 'request' && !codec.isArpAnnouncement(arp) ? this.#lookup(arp.targetIp, ifname) : undefined;
    if (target === undefined) return used === undefined ? 'not-ours' : undefined;
    if (target.on.get(ifname)?.since === undefined) {
      // We are probing it, and so is someone else (RFC 5227 §2.1.1: a conflict).
      if (codec.isArpProbe(arp)) this.#sighting(target, ifname, arp.senderMac, 'arp-sender');
      return undefined;
    }
    if (ls.held) return 'held';
    // To the requester; a probe (sender 0.0.0.0) gets the same answer, which tells
    // the prober the address is taken (RFC 5227 §2.4).
    this.#send(ls, codec.arpReply({ request: arp, mac: ls.link.mac }));
    this.#stats.answered.arp++;
    return undefined;
  }

  #onNa(ls: LinkState, na: codec.NeighborAdvertisementFrame): DropReason | undefined {
    const a = this.#lookup(na.target, ls.link.name);
    if (a === undefined) return 'not-ours';
    this.#sighting(a, ls.link.name, na.targetLinkLayer ?? na.ethernet.src, 'na');
    return undefined;
  }

  #onNs(ls: LinkState, ns: codec.NeighborSolicitationFrame): DropReason | undefined {
    const ifname = ls.link.name;
    const sender = ns.dad ? undefined : this.#lookup(ns.ipv6.src, ifname);
    if (sender !== undefined)
      this.#sighting(sender, ifname, ns.sourceLinkLayer ?? ns.ethernet.src, 'ns-sender');
    const a = this.#lookup(ns.target, ifname);
    if (a === undefined) return sender === undefined ? 'not-ours' : undefined;
    // Duplicate address detection for our IP: a host is configuring it. Report it;
    // the answer (to all-nodes, RFC 4861 §7.2.4) makes its DAD fail.
    if (ns.dad) this.#sighting(a, ifname, ns.ethernet.src, 'dad');
    if (a.on.get(ifname)?.since === undefined) return undefined; // probing: not answering yet
    if (ls.held) return 'held';
    this.#send(ls, codec.neighborAdvertisementReply({ request: ns, mac: ls.link.mac }));
    this.#stats.answered.ndp++;
    return undefined;
  }

  #lookup(ip: string, ifname: string): Announced | undefined {
    const a = this.#ips.get(ip);
    return a?.on.has(ifname) === true ? a : undefined;
  }

  #sighting(a: Announced, ifname: string, mac: string, evidence: ConflictEvidence): void {
    const s = a.on.get(ifname);
    if (s === undefined || mac === this.#links.get(ifname)?.link.mac) return;
    const c = this.#conflicts.sighting(
      a.ip,
      ifname,
      mac,
      s.since === undefined ? 'probe-answered' : evidence,
      s.since,
    );
    if (c === undefined) return;
    const node = this.#peerOf(mac);
    if (node !== undefined) {
      this.#stats.peerAnswers++;
      this.#onEvent({ type: 'peer-answer', ip: a.ip, ifname, mac, node });
      return;
    }
    this.#stats.conflicts++;
    this.#onEvent({ type: 'conflict', ...c });
  }

  #wants(a: Announced, ifname: string): boolean {
    return this.#links.has(ifname) && (a.interfaces === undefined || a.interfaces.has(ifname));
  }

  #start(a: Announced, ifname: string): void {
    if (a.on.has(ifname)) return;
    const ls = this.#links.get(ifname);
    if (ls === undefined) return;
    const s: OnLink = { since: undefined, timers: [] };
    a.on.set(ifname, s);
    if (!a.v4) this.#join(ls, codec.solicitedNodeMac(a.ip));
    if (!a.probe || this.config.probeWaitMs === 0) this.#answer(a, ifname, s, false);
    else if (live(ls)) this.#probe(a, ls, s);
  }

  /** Two probes (one may be lost), probeWaitMs / 2 apart, then answer. A link going down restarts it. */
  #probe(a: Announced, ls: LinkState, s: OnLink): void {
    const wait = this.config.probeWaitMs;
    const probe = (): void => {
      this.#send(ls, a.v4 ? codec.arpProbe(ls.link.mac, a.ip) : codec.dadSolicitation(ls.link.mac, a.ip));
      this.#stats.probes++;
    };
    probe();
    s.timers.push(this.#clock.setTimeout(probe, wait / 2));
    s.timers.push(
      this.#clock.setTimeout(() => {
        this.#answer(a, ls.link.name, s, true);
      }, wait),
    );
  }

  #answer(a: Announced, ifname: string, s: OnLink, probed: boolean): void {
    cancel(s);
    s.since = this.#clock.now();
    this.#onEvent({ type: 'announcing', ip: a.ip, ifname, probed });
    if (live(this.#links.get(ifname))) this.#burst(a, ifname, s);
  }

  #stop(a: Announced, ifname: string): void {
    const s = a.on.get(ifname);
    if (s === undefined) return;
    cancel(s);
    a.on.delete(ifname);
    const ls = this.#links.get(ifname);
    if (ls !== undefined && !a.v4) this.#leave(ls, codec.solicitedNodeMac(a.ip));
    if (s.since !== undefined) this.#onEvent({ type: 'withdrawn', ip: a.ip, ifname });
  }

  /** burstCount gratuitous frames burstIntervalMs apart, then the jittered refresh. */
  #burst(a: Announced, ifname: string, s: OnLink): void {
    let left = this.config.burstCount;
    this.#stats.bursts[a.v4 ? 'arp' : 'ndp']++;
    const tick = (): void => {
      this.#gratuitous(a, ifname);
      if (--left > 0) s.timers.push(this.#clock.setTimeout(tick, this.config.burstIntervalMs));
      else this.#refresh(a, ifname, s);
    };
    tick();
  }

  #refresh(a: Announced, ifname: string, s: OnLink): void {
    const every = this.config.refreshIntervalMs;
    if (every === 0) return;
    s.timers.length = 0; // the burst's timers have all fired
    s.timers.push(
      this.#clock.setTimeout(
        () => {
          this.#gratuitous(a, ifname);
          this.#refresh(a, ifname, s);
        },
        every * (0.9 + 0.2 * this.#random()),
      ),
    );
  }

  #gratuitous(a: Announced, ifname: string): void {
    const ls = this.#links.get(ifname);
    if (ls === undefined || !live(ls)) return;
    if (a.v4) {
      // The request form: Linux applies arp `locktime` to a reply whose target MAC is
      // broadcast and may ignore it for up to 1 s after its last update.
      this.#send(ls, codec.gratuitousArpRequest(ls.link.mac, a.ip));
      this.#stats.announcements.arp++;
    } else {
      this.#send(ls, codec.unsolicitedNeighborAdvertisement({ mac: ls.link.mac, ip: a.ip }));
      this.#stats.announcements.ndp++;
    }
  }

  #join(ls: LinkState, mac: string): void {
    const n = ls.groups.get(mac) ?? 0;
    ls.groups.set(mac, n + 1);
    if (n === 0)
      this.#try(ls, () => {
        ls.link.join(mac);
      });
  }

  #leave(ls: LinkState, mac: string): void {
    const n = ls.groups.get(mac) ?? 0;
    if (n > 1) ls.groups.set(mac, n - 1);
    else {
      ls.groups.delete(mac);
      this.#try(ls, () => {
        ls.link.leave(mac);
      });
    }
  }

  #send(ls: LinkState, frame: Uint8Array): void {
    this.#try(ls, () => {
      ls.link.send(frame);
    });
  }

  #try(ls: LinkState, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#stats.sendErrors++;
      this.#onEvent({ type: 'send-failed', ifname: ls.link.name, error: e as Error });
    }
  }
}

function cancel(s: OnLink): void {
  for (const t of s.timers) t.cancel();
  s.timers.length = 0;
}
