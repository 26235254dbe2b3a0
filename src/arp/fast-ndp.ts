/**
 * The NDP answer path without the general codec (see fast-arp.ts for why):
 * a neighbour solicitation that is not a DAD probe is recognised, checked
 * (hop limit 255, checksum, option shapes, a unicast target) and answered
 * with byte operations. Anything else takes the general path (responder.ts).
 */
import { icmpv6Checksum, verifyIcmpv6Checksum } from './codec/index.ts';

const IP6 = 14;
const SRC = IP6 + 8;
const DST = IP6 + 24;
const ICMP = IP6 + 40;
const TARGET = ICMP + 8;
const OPTIONS = ICMP + 24;
/** NA with one target link-layer option: 24 + 8 bytes. */
const NA_LENGTH = 32;

export interface NsKey {
  /** The target and source IPv6 addresses as 32 hex digits. */
  readonly target: string;
  readonly source: string;
  /** Offset of the source link-layer address (the MAC to answer to), or of the Ethernet source. */
  readonly replyMac: number;
}

/** An IPv6 address's 16 bytes as the key NsKey uses. */
export function ipv6Key(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
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
  if (!verifyIcmpv6Checksum(f.subarray(SRC, DST), f.subarray(DST, ICMP), f.subarray(ICMP, end)))
    return undefined;
  return { target: ipv6Key(f.subarray(TARGET)), source: ipv6Key(f.subarray(SRC)), replyMac };
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
  const sum = icmpv6Checksum(r.subarray(SRC, DST), r.subarray(DST, ICMP), r.subarray(ICMP));
  r[ICMP + 2] = sum >> 8;
  r[ICMP + 3] = sum & 0xff;
  return r;
}
