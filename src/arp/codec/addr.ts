/**
 * MAC addresses: text <-> bytes, and the IPv6 multicast mappings NDP needs. MAC text out
 * is six lower-case two-digit hex octets joined by `:` (`02:00:5e:10:00:01`), so it can
 * be used as a map key; text in may be in any case.
 *
 * IP address text is src/ip's (canonical IPv4 and RFC 5952 IPv6, zone IDs refused); it
 * is re-exported by the codec's index under the same names, with the same InvalidAddressError.
 */
import { ipv4ToBytes, ipv4ToString, ipv6ToBytes, ipv6ToString } from '../../ip/index.ts';
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

/** The canonical form of IPv4 text. Throws InvalidAddressError. */
export function canonicalIPv4(text: string): string {
  return ipv4ToString(ipv4ToBytes(text));
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
