/**
 * The NDP answer path without the general codec (see fast-arp.ts for why):
 * a neighbour solicitation that is not a DAD probe is recognised, checked
 * (hop limit 255, checksum, option shapes, a unicast target) and answered
 * with byte operations. Anything else takes the general path (answerer.ts).
 */

const IP6 = 14;
const SRC = IP6 + 8;
const DST = IP6 + 24;
const ICMP = IP6 + 40;
const TARGET = ICMP + 8;
const OPTIONS = ICMP + 24;
/** NA with one target link-layer option: 24 + 8 bytes. */
const NA_LENGTH = 32;

export interface NsKey {
  /** ipv6Hash of the target and the source address; compare with sameIpv6 on a hit. */
  readonly target: number;
  readonly source: number;
  /** Offset of the source link-layer address (the MAC to answer to), or of the Ethernet source. */
  readonly replyMac: number;
}

/** OFFSETS of the target and source addresses in a solicitation frame. */
export const NS_TARGET = TARGET;
export const NS_SOURCE = SRC;

/**
 * A quick key for an IPv6 address: its last 32 bits (VIPs of one cluster
 * differ there). Not unique: confirm a hit with sameIpv6.
 */
export function ipv6Hash(b: Uint8Array, off = 0): number {
  return (
    (((b[off + 12] ?? 0) << 24) |
      ((b[off + 13] ?? 0) << 16) |
      ((b[off + 14] ?? 0) << 8) |
      (b[off + 15] ?? 0)) >>>
    0
  );
}

/** The 16 bytes of `f` at `off` are the address `ip`. */
export function sameIpv6(f: Uint8Array, off: number, ip: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (f[off + i] !== ip[i]) return false;
  return true;
}

/** Ones' complement sum of 16-bit words of f[from, to), added to acc (to - from is even here, or padded). */
function sum16(f: Uint8Array, from: number, to: number, acc: number): number {
  for (let i = from; i < to; i += 2) acc += ((f[i] ?? 0) << 8) | (i + 1 < to ? (f[i + 1] ?? 0) : 0);
  return acc;
}

/** The ICMPv6 checksum sum over the pseudo-header (addresses at SRC..ICMP) and the message. */
function checksumSum(f: Uint8Array, length: number): number {
  let acc = sum16(f, SRC, ICMP, 0) + length + 58;
  acc = sum16(f, ICMP, ICMP + length, acc);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
}

/**
 * The target and source of a valid, non-DAD neighbour solicitation (untagged
 * Ethernet II, IPv6 without extension headers, hop limit 255, ICMPv6 type 135
 * code 0, right checksum, well-formed options, unicast target), or undefined.
 */
export function nsKey(f: Uint8Array): NsKey | undefined {
  if (f.length < OPTIONS || f[12] !== 0x86 || f[13] !== 0xdd || ((f[IP6] ?? 0) & 0xf0) !== 0x60)
    return undefined;
  if (f[IP6 + 6] !== 58 || f[IP6 + 7] !== 255 || f[ICMP] !== 135 || f[ICMP + 1] !== 0) return undefined;
  const length = ((f[IP6 + 4] ?? 0) << 8) | (f[IP6 + 5] ?? 0);
  const end = ICMP + length;
  if (length < 24 || end > f.length || f[TARGET] === 0xff) return undefined;
  let unspecified = true;
  for (let i = SRC; i < DST; i++) if (f[i] !== 0) unspecified = false;
  if (unspecified) return undefined; // DAD: the general path
  let replyMac = 6; // the Ethernet source, unless a source link-layer option says otherwise
  for (let o = OPTIONS; o < end;) {
    const len = (f[o + 1] ?? 0) * 8;
    if (len === 0 || o + len > end) return undefined;
    if (f[o] === 1 && len === 8 && replyMac === 6) replyMac = o + 2;
    o += len;
  }
  if (checksumSum(f, length) !== 0xffff) return undefined;
  return { target: ipv6Hash(f, TARGET), source: ipv6Hash(f, SRC), replyMac };
}

/**
 * The solicited NA answering `f` (checked by nsKey) from `mac`: from the
 * target address itself to the solicitation's source, hop limit 255,
 * solicited and override set, with a target link-layer option. Byte for byte
 * what codec.neighborAdvertisementReply builds.
 */
export function naReplyTo(f: Uint8Array, key: NsKey, mac: Uint8Array): Buffer {
  const r = Buffer.alloc(ICMP + NA_LENGTH);
  r.set(f.subarray(key.replyMac, key.replyMac + 6), 0);
  r.set(mac, 6);
  r[12] = 0x86;
  r[13] = 0xdd;
  r[IP6] = 0x60;
  r[IP6 + 5] = NA_LENGTH;
  r[IP6 + 6] = 58;
  r[IP6 + 7] = 255;
  r.set(f.subarray(TARGET, TARGET + 16), SRC); // from the VIP
  r.set(f.subarray(SRC, SRC + 16), DST); // to the solicitation's source
  r[ICMP] = 136;
  r[ICMP + 4] = 0x60; // solicited, override
  r.set(f.subarray(TARGET, TARGET + 16), TARGET);
  r[OPTIONS] = 2; // target link-layer address
  r[OPTIONS + 1] = 1;
  r.set(mac, OPTIONS + 2);
  const sum = ~checksumSum(r, NA_LENGTH) & 0xffff; // the checksum field is still 0
  r[ICMP + 2] = sum >> 8;
  r[ICMP + 3] = sum & 0xff;
  return r;
}
