/**
 * Neighbor Discovery frames (Ethernet + IPv6 + ICMPv6 NS/NA): parse, build,
 * and the replies a responder sends for its VIPs.
 *
 * What the parser leaves to the caller (RFC 4861 §7.1.1 / §7.1.2 checks on
 * valid bytes): hop limit 255, a non-multicast target, DAD rules. `ndpViolation`
 * performs them and returns a reason; the parser only rejects what it cannot
 * decode (FrameParseError).
 */
import { ipv6ToBytes, ipv6ToString } from '../../ip/index.ts';
import {
  ALL_NODES_IPV6,
  ALL_NODES_MAC,
  ipv6MulticastMac,
  solicitedNodeAddress,
  UNSPECIFIED_IPV6,
} from './addr.ts';
import { FrameParseError } from './errors.ts';
import { buildEthernet, ETHERTYPE_IPV6, parseEthernet, type EthernetHeader } from './ethernet.ts';
import {
  buildNdpMessage,
  parseNdpMessage,
  type NdpMessage,
  type NeighborAdvertisement,
  type NeighborSolicitation,
} from './icmpv6.ts';
import { buildIPv6, NEXT_HEADER_ICMPV6, parseIPv6, type IPv6Header } from './ipv6.ts';

/** The hop limit of every NDP message sent, and the only one accepted (RFC 4861 §7.1). */
export const NDP_HOP_LIMIT = 255;

/** A parsed Neighbor Solicitation frame. */
export interface NeighborSolicitationFrame extends NeighborSolicitation {
  readonly ethernet: EthernetHeader;
  readonly ipv6: IPv6Header;
  /**
   * The IPv6 source is the unspecified address `::`: a Duplicate Address
   * Detection probe for `target`. Answer with neighborAdvertisementReply, which
   * sends such replies to all-nodes with solicited = false (RFC 4861 §7.2.4).
   */
  readonly dad: boolean;
}

/** A parsed Neighbor Advertisement frame. */
export interface NeighborAdvertisementFrame extends NeighborAdvertisement {
  readonly ethernet: EthernetHeader;
  readonly ipv6: IPv6Header;
}

/** A parsed NS or NA frame, told apart by `kind`. */
export type NdpFrame = NeighborSolicitationFrame | NeighborAdvertisementFrame;

/**
 * Parse an Ethernet frame holding an NS or NA. Throws FrameParseError: the
 * codes of parseEthernet, `bad-ethertype` (not 0x86dd), those of parseIPv6,
 * `unsupported` (next header is not ICMPv6: extension headers are not
 * followed), and those of parseNdpMessage (checksum first).
 */
export function parseNdpFrame(frame: Uint8Array): NdpFrame {
  const { payload: packet, ...ethernet } = parseEthernet(frame);
  if (ethernet.ethertype !== ETHERTYPE_IPV6)
    throw new FrameParseError(
      'bad-ethertype',
      `EtherType 0x${ethernet.ethertype.toString(16)} is not IPv6 (0x86dd)`,
    );
  const { header: ipv6, payload } = parseIPv6(packet);
  if (ipv6.nextHeader !== NEXT_HEADER_ICMPV6)
    throw new FrameParseError('unsupported', `IPv6 next header ${ipv6.nextHeader} is not ICMPv6 (58)`);
  const message = parseNdpMessage(payload, packet.subarray(8, 24), packet.subarray(24, 40));
  if (message.kind === 'ns') return { ...message, ethernet, ipv6, dad: ipv6.src === UNSPECIFIED_IPV6 };
  return { ...message, ethernet, ipv6 };
}

/** Addressing of an NDP frame. */
export interface NdpAddressing {
  readonly srcMac: string;
  readonly dstMac: string;
  readonly srcIp: string;
  readonly dstIp: string;
  /** Default NDP_HOP_LIMIT (255); anything else is for tests of receivers. */
  readonly hopLimit?: number;
}

/** A complete NS or NA frame. Throws InvalidAddressError. */
export function buildNdpFrame(message: NdpMessage, to: NdpAddressing): Buffer {
  const icmp = buildNdpMessage(message, { src: to.srcIp, dst: to.dstIp });
  const packet = buildIPv6(
    { src: to.srcIp, dst: to.dstIp, nextHeader: NEXT_HEADER_ICMPV6, hopLimit: to.hopLimit ?? NDP_HOP_LIMIT },
    icmp,
  );
  return buildEthernet({ dst: to.dstMac, src: to.srcMac, ethertype: ETHERTYPE_IPV6 }, packet);
}

/** What neighborAdvertisement needs. `srcIp` is the VIP itself in meshlb. */
export interface NeighborAdvertisementInit {
  readonly srcMac: string;
  readonly dstMac: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly target: string;
  readonly solicited: boolean;
  readonly override: boolean;
  /** Default false: a VIP is not a router. */
  readonly router?: boolean;
}

/**
 * An NA frame with hop limit 255, a target link-layer address option holding
 * `srcMac`, and the checksum filled in. Throws InvalidAddressError.
 */
export function neighborAdvertisement(init: NeighborAdvertisementInit): Buffer {
  return buildNdpFrame(
    {
      kind: 'na',
      router: init.router ?? false,
      solicited: init.solicited,
      override: init.override,
      target: init.target,
      targetLinkLayer: init.srcMac,
    },
    { srcMac: init.srcMac, dstMac: init.dstMac, srcIp: init.srcIp, dstIp: init.dstIp },
  );
}

/**
 * An unsolicited NA for `ip` at `mac` (RFC 4861 §7.2.6), as sent on takeover:
 * from `ip` to all-nodes ff02::1 (MAC 33:33:00:00:00:01), solicited = false,
 * override = true so receivers replace a cached link-layer address.
 * Throws InvalidAddressError.
 */
export function unsolicitedNeighborAdvertisement(init: {
  readonly mac: string;
  readonly ip: string;
  readonly router?: boolean;
}): Buffer {
  return neighborAdvertisement({
    srcMac: init.mac,
    dstMac: ALL_NODES_MAC,
    srcIp: init.ip,
    dstIp: ALL_NODES_IPV6,
    target: init.ip,
    solicited: false,
    override: true,
    router: init.router ?? false,
  });
}

/**
 * The NA that answers solicitation `request` for one of our addresses
 * (`request.target`), from that address at `mac`:
 *
 * - DAD probe (`request.dad`, source `::`): to all-nodes ff02::1 at
 *   33:33:00:00:00:01, solicited = false (RFC 4861 §7.2.4). The prober sees the
 *   address is taken and does not configure it.
 * - otherwise: unicast to the solicitation's source IP, at its source
 *   link-layer address option or, without one, its Ethernet source;
 *   solicited = true.
 *
 * `override` defaults to true, so a client replaces a stale entry after a
 * failover (§7.2.5: with override = false a different MAC only marks the
 * entry STALE). The caller decides whether to answer at all (ndpViolation, is
 * the target ours, ...). Throws InvalidAddressError.
 */
export function neighborAdvertisementReply(init: {
  readonly request: NeighborSolicitationFrame;
  readonly mac: string;
  readonly override?: boolean;
  readonly router?: boolean;
}): Buffer {
  const { request } = init;
  const common = {
    srcMac: init.mac,
    srcIp: request.target,
    target: request.target,
    override: init.override ?? true,
    router: init.router ?? false,
  };
  if (request.dad)
    return neighborAdvertisement({
      ...common,
      dstMac: ALL_NODES_MAC,
      dstIp: ALL_NODES_IPV6,
      solicited: false,
    });
  return neighborAdvertisement({
    ...common,
    dstMac: request.sourceLinkLayer ?? request.ethernet.src,
    dstIp: request.ipv6.src,
    solicited: true,
  });
}

/**
 * An NS for `target` from `srcMac` / `srcIp` with hop limit 255 (RFC 4861 §7.2.2).
 *
 * - `srcIp` `::`: the DAD form (§5.4.2): no source link-layer option, to the
 *   solicited-node address of `target`. What a conflict probe sends: any NA
 *   for `target` in return means another host has it.
 * - otherwise: with a source link-layer option holding `srcMac`; sent to the
 *   solicited-node address of `target` unless `to` gives a unicast
 *   destination (neighbour unreachability detection).
 *
 * Throws InvalidAddressError.
 */
export function neighborSolicitation(init: {
  readonly srcMac: string;
  readonly srcIp: string;
  readonly target: string;
  readonly to?: { readonly ip: string; readonly mac: string };
}): Buffer {
  const dad = ipv6ToString(ipv6ToBytes(init.srcIp)) === UNSPECIFIED_IPV6;
  const group = solicitedNodeAddress(init.target);
  const to = init.to ?? { ip: group, mac: ipv6MulticastMac(group) };
  return buildNdpFrame(
    { kind: 'ns', target: init.target, sourceLinkLayer: dad ? undefined : init.srcMac },
    { srcMac: init.srcMac, dstMac: to.mac, srcIp: init.srcIp, dstIp: to.ip },
  );
}

/**
 * A Duplicate Address Detection solicitation for `ip` from `mac` (RFC 4862
 * §5.4.2): source `::`, no source link-layer option, to the solicited-node
 * group of `ip`. The IPv6 counterpart of arpProbe: an NA for `ip` in answer
 * (or a DAD solicitation for it from another MAC) means a conflict.
 * Throws InvalidAddressError.
 */
export function dadSolicitation(mac: string, ip: string): Buffer {
  return neighborSolicitation({ srcMac: mac, srcIp: UNSPECIFIED_IPV6, target: ip });
}
