/**
 * ARP for Ethernet / IPv4 (RFC 826), and the RFC 5227 probe and announcement
 * forms. Layout after the Ethernet header (28 bytes):
 *
 *   htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 op(2)=1|2
 *   sha(6) spa(4) tha(6) tpa(4)
 *
 * Built frames are padded with zeros to the 60-byte Ethernet minimum; parsers
 * accept any trailing bytes (padding) after the 28-byte body.
 */
import { ipv4ToBytes, ipv4ToString } from '../../ip/index.ts';
import { BROADCAST_MAC, macToBytes, macToString, UNSPECIFIED_IPV4, ZERO_MAC } from './addr.ts';
import { FrameParseError } from './errors.ts';
import {
  buildEthernet,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  parseEthernet,
  type EthernetHeader,
} from './ethernet.ts';

/** Bytes in an Ethernet/IPv4 ARP body. */
export const ARP_PACKET_BYTES = 28;
/** ARP hardware type of Ethernet. */
export const ARP_HTYPE_ETHERNET = 1;
/** ARP operation codes. */
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

/** An ARP operation. */
export type ArpOp = 'request' | 'reply';

/** An Ethernet/IPv4 ARP packet, addresses as canonical text (addr.ts). */
export interface ArpPacket {
  readonly op: ArpOp;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

/** A parsed ARP frame. `kind` tells it apart from NDP frames (see parseFrame). */
export interface ArpFrame {
  readonly kind: 'arp';
  readonly ethernet: EthernetHeader;
  readonly arp: ArpPacket;
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

/**
 * Parse an ARP body (what follows the Ethernet header). Trailing bytes are
 * ignored. Throws FrameParseError: `truncated`, `bad-hardware` (htype != 1 or
 * hlen != 6), `bad-protocol` (ptype != 0x0800 or plen != 4), `bad-opcode`.
 */
export function parseArp(packet: Uint8Array): ArpPacket {
  if (packet.length < ARP_PACKET_BYTES)
    throw new FrameParseError(
      'truncated',
      `an ARP packet is ${ARP_PACKET_BYTES} bytes, got ${packet.length}`,
    );
  const htype = u16(packet, 0);
  const hlen = packet[4] ?? 0;
  if (htype !== ARP_HTYPE_ETHERNET || hlen !== 6)
    throw new FrameParseError(
      'bad-hardware',
      `ARP hardware type ${htype} length ${hlen}, want Ethernet (1, 6)`,
    );
  const ptype = u16(packet, 2);
  const plen = packet[5] ?? 0;
  if (ptype !== ETHERTYPE_IPV4 || plen !== 4)
    throw new FrameParseError(
      'bad-protocol',
      `ARP protocol type 0x${ptype.toString(16)} length ${plen}, want IPv4 (0x800, 4)`,
    );
  const op = u16(packet, 6);
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY)
    throw new FrameParseError('bad-opcode', `ARP operation ${op}, want 1 (request) or 2 (reply)`);
  return {
    op: op === ARP_OP_REQUEST ? 'request' : 'reply',
    senderMac: macToString(packet, 8),
    senderIp: ipv4ToString(packet, 14),
    targetMac: macToString(packet, 18),
    targetIp: ipv4ToString(packet, 24),
  };
}

/**
 * Parse an Ethernet frame holding ARP. Throws FrameParseError: the codes of
 * parseEthernet, `bad-ethertype` (not 0x0806), and those of parseArp.
 */
export function parseArpFrame(frame: Uint8Array): ArpFrame {
  const { payload, ...ethernet } = parseEthernet(frame);
  if (ethernet.ethertype !== ETHERTYPE_ARP)
    throw new FrameParseError(
      'bad-ethertype',
      `EtherType 0x${ethernet.ethertype.toString(16)} is not ARP (0x806)`,
    );
  return { kind: 'arp', ethernet, arp: parseArp(payload) };
}

/** The 28-byte ARP body of `arp`. Throws InvalidAddressError. */
export function buildArp(arp: ArpPacket): Buffer {
  const b = Buffer.alloc(ARP_PACKET_BYTES);
  b.writeUInt16BE(ARP_HTYPE_ETHERNET, 0);
  b.writeUInt16BE(ETHERTYPE_IPV4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(arp.op === 'request' ? ARP_OP_REQUEST : ARP_OP_REPLY, 6);
  b.set(macToBytes(arp.senderMac), 8);
  b.set(ipv4ToBytes(arp.senderIp), 14);
  b.set(macToBytes(arp.targetMac), 18);
  b.set(ipv4ToBytes(arp.targetIp), 24);
  return b;
}

/** A complete ARP frame (60 bytes, padded). Throws InvalidAddressError. */
export function buildArpFrame(arp: ArpPacket, eth: { readonly dst: string; readonly src: string }): Buffer {
  return buildEthernet({ dst: eth.dst, src: eth.src, ethertype: ETHERTYPE_ARP }, buildArp(arp));
}

/**
 * The reply to an ARP request for one of our IPs, as RFC 826 and Linux send
 * it: op reply, sender = (`mac`, the requested IP), target = the requester's
 * sender fields, Ethernet unicast to the requester's sender hardware address.
 * For a probe (sender IP 0.0.0.0) this is the RFC 5227 §2.4 defence: the
 * target IP is 0.0.0.0, as Linux sends it. The caller decides whether to
 * answer (the target IP is ours, the request is not from us, ...).
 */
export function arpReply(init: { readonly request: ArpPacket; readonly mac: string }): Buffer {
  const { request, mac } = init;
  return buildArpFrame(
    {
      op: 'reply',
      senderMac: mac,
      senderIp: request.targetIp,
      targetMac: request.senderMac,
      targetIp: request.senderIp,
    },
    { dst: request.senderMac, src: mac },
  );
}

/**
 * An RFC 5227 §2.3 ARP announcement: op request, sender IP = target IP = `ip`,
 * target MAC zero, Ethernet broadcast. Linux updates an existing neighbour
 * entry from it at once (it counts as gratuitous, so `locktime` does not
 * apply); it creates no new entry unless `arp_accept` is set.
 */
export function gratuitousArpRequest(mac: string, ip: string): Buffer {
  return buildArpFrame(
    { op: 'request', senderMac: mac, senderIp: ip, targetMac: ZERO_MAC, targetIp: ip },
    { dst: BROADCAST_MAC, src: mac },
  );
}

/**
 * A gratuitous ARP reply: op reply, sender IP = target IP = `ip`, target MAC =
 * sender MAC = `mac` (as `arping -A` sends it), Ethernet broadcast. The target
 * MAC matters: Linux (net/ipv4/arp.c, since 4.11) treats a reply as gratuitous
 * (exempt from `locktime`) only when its target hardware address equals the
 * sender's; with a broadcast or zero target MAC the update can be ignored for
 * up to `locktime` (1 s by default) after the entry last changed.
 */
export function gratuitousArpReply(mac: string, ip: string): Buffer {
  return buildArpFrame(
    { op: 'reply', senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip },
    { dst: BROADCAST_MAC, src: mac },
  );
}

/**
 * An RFC 5227 §2.1.1 ARP probe, asking whether anyone holds `ip`: op request,
 * sender IP 0.0.0.0, target MAC zero, target IP `ip`, Ethernet broadcast.
 * Answers (a reply for `ip`, or a probe for it from another MAC) mean a conflict.
 */
export function arpProbe(mac: string, ip: string): Buffer {
  return buildArpFrame(
    { op: 'request', senderMac: mac, senderIp: UNSPECIFIED_IPV4, targetMac: ZERO_MAC, targetIp: ip },
    { dst: BROADCAST_MAC, src: mac },
  );
}

/** True for an RFC 5227 probe: a request whose sender IP is 0.0.0.0. */
export function isArpProbe(arp: ArpPacket): boolean {
  return arp.op === 'request' && arp.senderIp === UNSPECIFIED_IPV4;
}

/**
 * True for an announcement (gratuitous ARP) of either op: sender IP equals
 * target IP, and is not 0.0.0.0. The sender claims `senderIp` for `senderMac`.
 */
export function isArpAnnouncement(arp: ArpPacket): boolean {
  return arp.senderIp === arp.targetIp && arp.senderIp !== UNSPECIFIED_IPV4;
}
