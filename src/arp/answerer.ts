/**
 * Received frames: what is answered, what is dropped and why, and what counts
 * as a sighting of another host using one of our IPs (a conflict, or another
 * speaker's answer). The common requests take the byte-level fast paths
 * (fast-arp.ts, fast-ndp.ts); everything else is parsed by the codec.
 *
 * Answers: ARP requests for an announced IPv4 address get a reply with the
 * link's MAC; neighbour solicitations (hop limit 255 only) get a solicited NA
 * from the VIP itself with the override flag, or, for a duplicate address
 * detection probe (source ::), an NA to all-nodes (RFC 4861 §7.2.4), which
 * makes the other host's DAD fail. Nothing else is ever answered.
 */
import type { AnnouncedIps, Announced, LinkState } from './announced.ts';
import * as codec from './codec/index.ts';
import type { ConflictEvidence, ConflictTracker } from './conflicts.ts';
import { arpReplyTo, arpRequestKey, fromMac } from './fast-arp.ts';
import { naReplyTo, NS_SOURCE, NS_TARGET, nsKey } from './fast-ndp.ts';
import type { LinkIo } from './link-io.ts';
import type { Received } from './link.ts';
import type { DropReason, WireEvent, WireStats } from './responder-types.ts';

export interface AnswererInit {
  ips: AnnouncedIps;
  /** The responder's links (read only here). */
  links: ReadonlyMap<string, LinkState>;
  stats: WireStats;
  onEvent: (e: WireEvent) => void;
  /** See ResponderInit.peerOf. */
  peerOf: (mac: string) => string | undefined;
  conflicts: ConflictTracker;
  io: LinkIo;
}

export class Answerer {
  readonly #ips: AnnouncedIps;
  readonly #links: ReadonlyMap<string, LinkState>;
  readonly #stats: WireStats;
  readonly #onEvent: (e: WireEvent) => void;
  readonly #peerOf: (mac: string) => string | undefined;
  readonly #conflicts: ConflictTracker;
  readonly #io: LinkIo;

  constructor(init: AnswererInit) {
    this.#ips = init.ips;
    this.#links = init.links;
    this.#stats = init.stats;
    this.#onEvent = init.onEvent;
    this.#peerOf = init.peerOf;
    this.#conflicts = init.conflicts;
    this.#io = init.io;
  }

  /** A frame received on `ls`; returns true when it was answered. */
  receive(ls: LinkState, frame: Received): boolean {
    const { answered, requests } = this.#stats;
    // Requests counted on bytes (no allocation: the hot path): EtherType, then
    // the ARP opcode or the ICMPv6 type of an IPv6 header without extensions.
    const d = frame.data;
    if (d[12] === 0x08 && d[13] === 0x06) {
      if (d[20] === 0 && d[21] === 1) requests.arp++;
    } else if (d[12] === 0x86 && d[13] === 0xdd && d[20] === 58 && d[54] === 135) requests.ndp++;
    if (frame.answered === true) {
      // The link answered it on its own (Link.answer): the fast path's decision, taken in the addon.
      if (d[12] === 0x08) answered.arp++;
      else answered.ndp++;
      return true;
    }
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
      if (this.#ips.v4(arp.sender) !== undefined || fromMac(data, ls.mac)) return undefined;
      a = this.#ips.v4(arp.target);
      reply = () => arpReplyTo(data, ls.mac);
    } else {
      const ns = nsKey(data);
      if (ns === undefined || this.#ips.v6(data, ns.source, NS_SOURCE) !== undefined || fromMac(data, ls.mac))
        return undefined;
      a = this.#ips.v6(data, ns.target, NS_TARGET);
      reply = () => naReplyTo(data, ns, ls.mac);
    }
    if (a === undefined) return 'not-ours';
    // Not here, probing, or held: the general path decides (and sees sightings).
    if (a.on.get(ls.link.name)?.since === undefined || ls.held) return undefined;
    this.#io.send(ls, reply());
    if (a.v4) this.#stats.answered.arp++;
    else this.#stats.answered.ndp++;
    return 'answered';
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
    this.#io.send(ls, codec.arpReply({ request: arp, mac: ls.link.mac }));
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
    this.#io.send(ls, codec.neighborAdvertisementReply({ request: ns, mac: ls.link.mac }));
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
}
