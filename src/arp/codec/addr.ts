/**
 * MAC, IPv4 and IPv6 addresses: text <-> bytes, and the IPv6 multicast
 * mappings NDP needs. Text out is canonical, so parsed addresses can be used as
 * map keys and compared as strings:
 *
 * - MAC: six lower-case two-digit hex octets joined by `:` (`02:00:5e:10:00:01`).
 * - IPv4: dotted decimal without leading zeros (`192.0.2.1`).
 * - IPv6: RFC 5952 (lower case, no leading zeros, the longest run of two or
 *   more zero groups, the first on a tie, as `::`), with IPv4-mapped addresses
 *   in mixed notation (`::ffff:192.0.2.1`, RFC 5952 §5).
 *
 * Text in may be any valid form (`AA:BB:...`, `2001:DB8:0:0::1`,
 * `::ffff:192.0.2.1`, `1:2:3:4:5:6:1.2.3.4`); zone IDs (`fe80::1%eth0`) are
 * rejected: they are not part of an address on the wire.
 */
import { InvalidAddressError } from './errors.ts';

/** The Ethernet broadcast address. */
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
/** The all-zero MAC (the target hardware address of ARP requests and probes). */
export const ZERO_MAC = '00:00:00:00:00:00';
/** The unspecified IPv4 address (the sender of an ARP probe, RFC 5227 §2.1.1). */
export const UNSPECIFIED_IPV4 = '0.0.0.0';
/** The unspecified IPv6 address (the source of a DAD solicitation). */
export const UNSPECIFIED_IPV6 = '::';
/** The link-local all-nodes multicast address (RFC 4291 §2.7.1). */
export const ALL_NODES_IPV6 = 'ff02::1';
/** The Ethernet multicast MAC of ff02::1 (RFC 2464 §7). */
export const ALL_NODES_MAC = '33:33:00:00:00:01';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MAC_TEXT = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;

function at(bytes: Uint8Array, i: number): number {
  return bytes[i] ?? 0;
}

function need(bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.length)
    throw new RangeError(`${what} needs ${length} bytes at offset ${offset}, the buffer has ${bytes.length}`);
}

/** Parse a MAC address (`aa:bb:cc:dd:ee:ff`, any case) into 6 bytes. Throws InvalidAddressError. */
export function macToBytes(text: string): Uint8Array {
  if (!MAC_TEXT.test(text)) throw new InvalidAddressError(text, 'not a MAC address (want aa:bb:cc:dd:ee:ff)');
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(text.slice(i * 3, i * 3 + 2), 16);
  return out;
}

/** Format the 6 bytes at `offset` as a lower-case MAC address. Throws RangeError if they are not there. */
export function macToString(bytes: Uint8Array, offset = 0): string {
  need(bytes, offset, 6, 'a MAC address');
  let s = HEX[at(bytes, offset)] ?? '';
  for (let i = 1; i < 6; i++) s += `:${HEX[at(bytes, offset + i)] ?? ''}`;
  return s;
}

/** The canonical (lower-case) form of a MAC address. Throws InvalidAddressError. */
export function canonicalMac(text: string): string {
  return macToString(macToBytes(text));
}

/** True for a group (multicast or broadcast) MAC: the I/G bit of the first octet is set. */
export function isMulticastMac(mac: string): boolean {
  return (at(macToBytes(mac), 0) & 1) === 1;
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

/** The canonical form of IPv4 text. Throws InvalidAddressError. */
export function canonicalIPv4(text: string): string {
  return ipv4ToString(ipv4ToBytes(text));
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

/** The RFC 5952 form of IPv6 text. Throws InvalidAddressError. */
export function canonicalIPv6(text: string): string {
  return ipv6ToString(ipv6ToBytes(text));
}

/** True for an IPv6 multicast address (ff00::/8). Throws InvalidAddressError for invalid text. */
export function isIPv6Multicast(ipv6: string): boolean {
  return ipv6ToBytes(ipv6)[0] === 0xff;
}

/**
 * The solicited-node multicast address of an IPv6 address: ff02::1:ff00:0/104
 * plus its low 24 bits (RFC 4291 §2.7.1). A responder joins the group of each
 * IPv6 VIP (as the MAC `ipv6MulticastMac(solicitedNodeAddress(vip))`) to
 * receive multicast solicitations for it. Throws InvalidAddressError.
 */
export function solicitedNodeAddress(ipv6: string): string {
  const out = solicitedNodeBytes(ipv6ToBytes(ipv6));
  return ipv6ToString(out);
}

/** solicitedNodeAddress on bytes (16 in, 16 out). */
export function solicitedNodeBytes(ipv6: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff]);
  out.set(ipv6.subarray(13, 16), 13);
  return out;
}

/**
 * The Ethernet MAC of an IPv6 multicast address: 33:33 and its low 32 bits
 * (RFC 2464 §7). Throws InvalidAddressError if the address is not multicast.
 */
export function ipv6MulticastMac(ipv6: string): string {
  const bytes = ipv6ToBytes(ipv6);
  if (bytes[0] !== 0xff) throw new InvalidAddressError(ipv6, 'not an IPv6 multicast address (ff00::/8)');
  return macToString(Uint8Array.of(0x33, 0x33, ...bytes.subarray(12, 16)));
}

/**
 * The Ethernet MAC of the solicited-node group of an IPv6 address
 * (33:33:ff:XX:XX:XX): what a responder joins (PACKET_ADD_MEMBERSHIP) for
 * each IPv6 VIP. Throws InvalidAddressError.
 */
export function solicitedNodeMac(ipv6: string): string {
  return ipv6MulticastMac(solicitedNodeAddress(ipv6));
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
