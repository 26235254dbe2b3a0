/**
 * The IPv6 fixed header (RFC 8200 §3), 40 bytes:
 *
 *   version(4)=6 traffic class(8) flow label(20) payload length(16)
 *   next header(8) hop limit(8) source(128) destination(128)
 *
 * Extension headers are not followed: NDP messages that meshlb handles carry
 * ICMPv6 directly (the BPF filter and parseNdpFrame drop anything else).
 */
import { ipv6ToBytes, ipv6ToString } from '../../ip/index.ts';
import { FrameParseError } from './errors.ts';

/** Bytes in the IPv6 fixed header. */
export const IPV6_HEADER_BYTES = 40;
/** Next header value of ICMPv6. */
export const NEXT_HEADER_ICMPV6 = 58;

/** An IPv6 fixed header, addresses as RFC 5952 text. */
export interface IPv6Header {
  readonly trafficClass: number;
  readonly flowLabel: number;
  /** Bytes after the fixed header, as the header says (checked against the buffer). */
  readonly payloadLength: number;
  readonly nextHeader: number;
  /** NDP receivers drop anything but 255 (RFC 4861 §7.1): it proves the sender is on-link. */
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
}

/** A parsed IPv6 packet: the header and a view of exactly `payloadLength` payload bytes. */
export interface IPv6Packet {
  readonly header: IPv6Header;
  readonly payload: Uint8Array;
}

/**
 * Parse an IPv6 packet (what follows the Ethernet header). Bytes after the
 * payload (Ethernet padding) are ignored. Throws FrameParseError `truncated`
 * (under 40 bytes, or fewer payload bytes than the payload length field says)
 * or `bad-version`.
 */
export function parseIPv6(packet: Uint8Array): IPv6Packet {
  if (packet.length < IPV6_HEADER_BYTES)
    throw new FrameParseError(
      'truncated',
      `an IPv6 header is ${IPV6_HEADER_BYTES} bytes, got ${packet.length}`,
    );
  const b0 = packet[0] ?? 0;
  const b1 = packet[1] ?? 0;
  if (b0 >> 4 !== 6) throw new FrameParseError('bad-version', `IP version ${b0 >> 4} in an IPv6 frame`);
  const payloadLength = ((packet[4] ?? 0) << 8) | (packet[5] ?? 0);
  const available = packet.length - IPV6_HEADER_BYTES;
  if (payloadLength > available)
    throw new FrameParseError(
      'truncated',
      `IPv6 payload length is ${payloadLength} bytes, only ${available} follow the header`,
    );
  return {
    header: {
      trafficClass: ((b0 & 0x0f) << 4) | (b1 >> 4),
      flowLabel: ((b1 & 0x0f) << 16) | ((packet[2] ?? 0) << 8) | (packet[3] ?? 0),
      payloadLength,
      nextHeader: packet[6] ?? 0,
      hopLimit: packet[7] ?? 0,
      src: ipv6ToString(packet, 8),
      dst: ipv6ToString(packet, 24),
    },
    payload: packet.subarray(IPV6_HEADER_BYTES, IPV6_HEADER_BYTES + payloadLength),
  };
}

/** What buildIPv6 needs: traffic class and flow label are 0. */
export interface IPv6Init {
  readonly src: string;
  readonly dst: string;
  readonly nextHeader: number;
  readonly hopLimit: number;
}

/**
 * An IPv6 packet: fixed header (traffic class 0, flow label 0) and `payload`.
 * Throws InvalidAddressError for bad addresses and RangeError for a payload
 * over 65,535 bytes or a next header / hop limit outside 0…255.
 */
export function buildIPv6(init: IPv6Init, payload: Uint8Array): Buffer {
  if (payload.length > 0xffff)
    throw new RangeError(`IPv6 payload of ${payload.length} bytes needs a jumbogram`);
  for (const [what, v] of [
    ['next header', init.nextHeader],
    ['hop limit', init.hopLimit],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`${what} must be 0…255, got ${v}`);
  const packet = Buffer.alloc(IPV6_HEADER_BYTES + payload.length);
  packet[0] = 0x60;
  packet.writeUInt16BE(payload.length, 4);
  packet[6] = init.nextHeader;
  packet[7] = init.hopLimit;
  packet.set(ipv6ToBytes(init.src), 8);
  packet.set(ipv6ToBytes(init.dst), 24);
  packet.set(payload, IPV6_HEADER_BYTES);
  return packet;
}
