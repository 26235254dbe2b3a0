/**
 * IPv4 and IPv6 addresses: text <-> bytes <-> integers. Text out is canonical, so
 * formatted addresses can be used as map keys and compared as strings:
 *
 * - IPv4: dotted decimal without leading zeros (`192.0.2.1`).
 * - IPv6: RFC 5952 (lower case, no leading zeros, the longest run of two or
 *   more zero groups, the first on a tie, as `::`), with IPv4-mapped addresses
 *   in mixed notation (`::ffff:192.0.2.1`, RFC 5952 §5, as Go's netip writes them).
 *
 * Text in may be any valid form (`2001:DB8:0:0::1`, `::ffff:192.0.2.1`,
 * `1:2:3:4:5:6:1.2.3.4`): the grammar of Go's `net/netip` (so of the API server's CEL
 * `ip()`), without zone IDs (`fe80::1%eth0`): they are not part of an address on
 * the wire. IPv4 octets have no leading zeros (`010` is octal to some parsers).
 */
import { InvalidAddressError } from './errors.ts';

/** 4 or 6. */
export type Family = 4 | 6;

/** One address as an integer of its family (`value` < 2^32 or 2^128). */
export interface IpAddress {
  readonly family: Family;
  readonly value: bigint;
}

const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;

function at(bytes: Uint8Array, i: number): number {
  return bytes[i] ?? 0;
}

function need(bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.length)
    throw new RangeError(`${what} needs ${length} bytes at offset ${offset}, the buffer has ${bytes.length}`);
}

function parseIPv4Into(text: string, out: Uint8Array, offset: number, whole: string): void {
  const parts = text.split('.');
  if (parts.length !== 4)
    throw new InvalidAddressError(whole, 'not an IPv4 address (want four dotted octets)');
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? '';
    const n = IPV4_OCTET.test(part) ? Number(part) : NaN;
    if (!(n <= 255)) throw new InvalidAddressError(whole, `IPv4 octet ${JSON.stringify(part)} is not 0…255`);
    out[offset + i] = n;
  }
}

/** Parse dotted-decimal IPv4 text (no leading zeros) into 4 bytes. Throws InvalidAddressError. */
export function ipv4ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(4);
  parseIPv4Into(text, out, 0, text);
  return out;
}

/** Format the 4 bytes at `offset` as dotted decimal. Throws RangeError if they are not there. */
export function ipv4ToString(bytes: Uint8Array, offset = 0): string {
  need(bytes, offset, 4, 'an IPv4 address');
  return `${at(bytes, offset)}.${at(bytes, offset + 1)}.${at(bytes, offset + 2)}.${at(bytes, offset + 3)}`;
}

/** Parse `:`-separated groups into 16-bit words; the last group may be IPv4 when `ipv4Last`. */
function parseGroups(part: string, ipv4Last: boolean, whole: string): number[] {
  if (part === '') return [];
  const groups = part.split(':');
  const words: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? '';
    if (ipv4Last && i === groups.length - 1 && g.includes('.')) {
      const v4 = new Uint8Array(4);
      parseIPv4Into(g, v4, 0, whole);
      words.push((at(v4, 0) << 8) | at(v4, 1), (at(v4, 2) << 8) | at(v4, 3));
    } else if (IPV6_GROUP.test(g)) {
      words.push(parseInt(g, 16));
    } else {
      throw new InvalidAddressError(whole, `IPv6 group ${JSON.stringify(g)} is not 1-4 hex digits`);
    }
  }
  return words;
}

/**
 * Parse IPv6 text (any valid RFC 4291 §2.2 form, including an embedded IPv4
 * tail) into 16 bytes. Throws InvalidAddressError, also for a zone ID.
 */
export function ipv6ToBytes(text: string): Uint8Array {
  if (text.includes('%')) throw new InvalidAddressError(text, 'IPv6 zone IDs are not supported here');
  const halves = text.split('::');
  if (halves.length > 2) throw new InvalidAddressError(text, 'more than one "::" in an IPv6 address');
  const head = parseGroups(halves[0] ?? '', halves.length === 1, text);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true, text) : [];
  const count = head.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7)
    throw new InvalidAddressError(text, `an IPv6 address has 8 groups, this one has ${count}`);
  const words = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Format the 16 bytes at `offset` as RFC 5952 text. Throws RangeError if they are not there. */
export function ipv6ToString(bytes: Uint8Array, offset = 0): string {
  need(bytes, offset, 16, 'an IPv6 address');
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((at(bytes, offset + 2 * i) << 8) | at(bytes, offset + 2 * i + 1));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff)
    return `::ffff:${ipv4ToString(bytes, offset + 12)}`;
  // The longest run of zero words (length >= 2; the first of equal runs) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** Parse IPv4 or IPv6 text into 4 or 16 bytes (IPv6 when it contains `:`). Throws InvalidAddressError. */
export function ipToBytes(text: string): Uint8Array {
  return text.includes(':') ? ipv6ToBytes(text) : ipv4ToBytes(text);
}

/** Format 4 bytes as IPv4 or 16 bytes as IPv6 (canonical text). Throws RangeError for another length. */
export function ipToString(bytes: Uint8Array): string {
  if (bytes.length === 4) return ipv4ToString(bytes);
  if (bytes.length === 16) return ipv6ToString(bytes);
  throw new RangeError(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
}

/** The canonical text of an IPv4 or IPv6 address, for use as a map key. Throws InvalidAddressError. */
export function canonicalIp(text: string): string {
  return ipToString(ipToBytes(text));
}

/** True for an IPv4-mapped IPv6 address (`::ffff:0:0/96`). */
export function isV4Mapped(ip: IpAddress): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/**
 * Parses one address as the API server's CEL `ip()` does (the grammar above, IPv4-mapped
 * IPv6 refused: it would be an IPv4 address in IPv6 clothes). Returns undefined for
 * anything else, white space included.
 */
export function parseIp(text: string): IpAddress | undefined {
  let bytes: Uint8Array;
  try {
    bytes = ipToBytes(text);
  } catch (err) {
    if (err instanceof InvalidAddressError) return undefined;
    throw err;
  }
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  const ip: IpAddress = { family: bytes.length === 4 ? 4 : 6, value };
  return isV4Mapped(ip) ? undefined : ip;
}

/** Bits in an address of the family. */
export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** The canonical text of an address of the family (see the top of this file). */
export function formatIp(family: Family, value: bigint): string {
  const bytes = new Uint8Array(familyBits(family) / 8);
  let v = value;
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return ipToString(bytes);
}
