/**
 * ICMPv6 checksum (RFC 8200 §8.1, RFC 4443 §2.3) and the two Neighbor
 * Discovery messages meshlb handles (RFC 4861 §4.3, §4.4):
 *
 *   NS: type(1)=135 code(1)=0 checksum(2) reserved(4) target(16) options
 *   NA: type(1)=136 code(1)=0 checksum(2) R|S|O|reserved(4) target(16) options
 *   option: type(1) length(1, in units of 8 bytes, 0 is invalid) data
 *   link-layer address option on Ethernet (RFC 2464 §8): type 1|2, length 1, MAC(6)
 */
import { ipv6ToBytes, ipv6ToString } from '../../ip/index.ts';
import { macToBytes, macToString } from './addr.ts';
import { FrameParseError } from './errors.ts';
import { NEXT_HEADER_ICMPV6 } from './ipv6.ts';

/** ICMPv6 type of a Neighbor Solicitation. */
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
/** ICMPv6 type of a Neighbor Advertisement. */
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
/** NDP option: source link-layer address (in NS, RS, RA). */
export const NDP_OPTION_SOURCE_LINK_LAYER = 1;
/** NDP option: target link-layer address (in NA, Redirect). */
export const NDP_OPTION_TARGET_LINK_LAYER = 2;
/** Bytes of an NS or NA before its options. */
export const NDP_MESSAGE_BYTES = 24;

const FLAG_ROUTER = 0x80;
const FLAG_SOLICITED = 0x40;
const FLAG_OVERRIDE = 0x20;

/** A Neighbor Solicitation. `sourceLinkLayer` is its first source link-layer address option, if any. */
export interface NeighborSolicitation {
  readonly kind: 'ns';
  readonly target: string;
  readonly sourceLinkLayer: string | undefined;
}

/** A Neighbor Advertisement. `targetLinkLayer` is its first target link-layer address option, if any. */
export interface NeighborAdvertisement {
  readonly kind: 'na';
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: string;
  readonly targetLinkLayer: string | undefined;
}

/** An NS or an NA. */
export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

/** Ones' complement sum of 16-bit big-endian words, skipping the word at `skip` (an even offset). */
function sum16(bytes: Uint8Array, acc: number, skip = -1): number {
  const n = bytes.length;
  for (let i = 0; i + 1 < n; i += 2) if (i !== skip) acc += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (n % 2 === 1) acc += (bytes[n - 1] ?? 0) << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, length: number): number {
  let acc = sum16(src, 0);
  acc = sum16(dst, acc);
  return acc + Math.floor(length / 0x10000) + (length & 0xffff) + NEXT_HEADER_ICMPV6;
}

/**
 * The checksum an ICMPv6 `message` must carry between `src` and `dst` (16
 * bytes each): the ones' complement of the ones' complement sum of the IPv6
 * pseudo-header and the message, with the message's own checksum field
 * (bytes 2-3) counted as zero.
 */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  return ~sum16(message, pseudoHeaderSum(src, dst, message.length), 2) & 0xffff;
}

/** True when the checksum inside `message` is right for `src` and `dst` (the whole sum is 0xffff). */
export function verifyIcmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): boolean {
  return sum16(message, pseudoHeaderSum(src, dst, message.length)) === 0xffff;
}

/** The MAC in the first link-layer address option of `type`; checks every option's shape. */
function linkLayerOption(message: Uint8Array, want: number): string | undefined {
  let found: string | undefined;
  for (let off = NDP_MESSAGE_BYTES; off < message.length;) {
    if (message.length - off < 2)
      throw new FrameParseError(
        'bad-option',
        `${message.length - off} stray byte(s) after the last NDP option`,
      );
    const type = message[off] ?? 0;
    const units = message[off + 1] ?? 0;
    if (units === 0)
      throw new FrameParseError('bad-option', `NDP option type ${type} at byte ${off} has length 0`);
    if (off + units * 8 > message.length)
      throw new FrameParseError(
        'bad-option',
        `NDP option type ${type} at byte ${off} is ${units * 8} bytes, ${message.length - off} remain`,
      );
    if (type === NDP_OPTION_SOURCE_LINK_LAYER || type === NDP_OPTION_TARGET_LINK_LAYER) {
      if (units !== 1)
        throw new FrameParseError(
          'bad-option',
          `link-layer address option of length ${units}, Ethernet uses 1`,
        );
      if (type === want && found === undefined) found = macToString(message, off + 2);
    }
    off += units * 8;
  }
  return found;
}

/**
 * Parse an ICMPv6 NS or NA sent from `src` to `dst` (16 bytes each). The
 * checksum is checked first, before any other field is trusted. Throws
 * FrameParseError: `bad-length` (under 4 bytes, or under 24 for NS / NA),
 * `bad-checksum`, `unsupported` (another ICMPv6 type), `bad-code`, `bad-option`.
 * Unknown options are skipped (RFC 4861 §4.6).
 */
export function parseNdpMessage(message: Uint8Array, src: Uint8Array, dst: Uint8Array): NdpMessage {
  if (message.length < 4)
    throw new FrameParseError('bad-length', `an ICMPv6 message is at least 4 bytes, got ${message.length}`);
  if (!verifyIcmpv6Checksum(src, dst, message)) {
    const carried = ((message[2] ?? 0) << 8) | (message[3] ?? 0);
    const want = icmpv6Checksum(src, dst, message);
    throw new FrameParseError(
      'bad-checksum',
      `ICMPv6 checksum 0x${carried.toString(16)}, want 0x${want.toString(16)}`,
    );
  }
  const type = message[0] ?? 0;
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT)
    throw new FrameParseError('unsupported', `ICMPv6 type ${type} is not NS (135) or NA (136)`);
  const code = message[1] ?? 0;
  if (code !== 0) throw new FrameParseError('bad-code', `ICMPv6 code ${code} in NS/NA, want 0`);
  if (message.length < NDP_MESSAGE_BYTES)
    throw new FrameParseError(
      'bad-length',
      `NS/NA is at least ${NDP_MESSAGE_BYTES} bytes, got ${message.length}`,
    );
  const target = ipv6ToString(message, 8);
  if (type === ICMPV6_NEIGHBOR_SOLICITATION)
    return { kind: 'ns', target, sourceLinkLayer: linkLayerOption(message, NDP_OPTION_SOURCE_LINK_LAYER) };
  const flags = message[4] ?? 0;
  return {
    kind: 'na',
    router: (flags & FLAG_ROUTER) !== 0,
    solicited: (flags & FLAG_SOLICITED) !== 0,
    override: (flags & FLAG_OVERRIDE) !== 0,
    target,
    targetLinkLayer: linkLayerOption(message, NDP_OPTION_TARGET_LINK_LAYER),
  };
}

/**
 * The ICMPv6 bytes of an NS or NA sent from `src` to `dst`, checksum filled
 * in. The link-layer address, when given, goes into the one option of the
 * message's kind (source for NS, target for NA). Throws InvalidAddressError.
 */
export function buildNdpMessage(
  message: NdpMessage,
  addrs: { readonly src: string; readonly dst: string },
): Buffer {
  const lla = message.kind === 'ns' ? message.sourceLinkLayer : message.targetLinkLayer;
  const out = Buffer.alloc(NDP_MESSAGE_BYTES + (lla === undefined ? 0 : 8));
  if (message.kind === 'ns') {
    out[0] = ICMPV6_NEIGHBOR_SOLICITATION;
  } else {
    out[0] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
    out[4] =
      (message.router ? FLAG_ROUTER : 0) |
      (message.solicited ? FLAG_SOLICITED : 0) |
      (message.override ? FLAG_OVERRIDE : 0);
  }
  out.set(ipv6ToBytes(message.target), 8);
  if (lla !== undefined) {
    out[NDP_MESSAGE_BYTES] =
      message.kind === 'ns' ? NDP_OPTION_SOURCE_LINK_LAYER : NDP_OPTION_TARGET_LINK_LAYER;
    out[NDP_MESSAGE_BYTES + 1] = 1;
    out.set(macToBytes(lla), NDP_MESSAGE_BYTES + 2);
  }
  out.writeUInt16BE(icmpv6Checksum(ipv6ToBytes(addrs.src), ipv6ToBytes(addrs.dst), out), 2);
  return out;
}
