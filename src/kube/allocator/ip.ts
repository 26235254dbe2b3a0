/**
 * IP addresses as integers: parsing, canonical text, pool ranges.
 *
 * Temporary home: src/kube/api/addresses.ts parses IPPool address strings for the
 * CRD validation too (same `{ family, first, last }` shape, but it refuses a CIDR with
 * host bits set where this one masks them); the two should become one parser, in a
 * module both sides may import (kept here so the allocator does not depend on the API).
 */

/** 4 or 6. */
export type Family = 4 | 6;

/** One address as an integer of its family. */
export interface ParsedIp {
  readonly family: Family;
  readonly value: bigint;
}

/** An inclusive range of addresses of one family (a CIDR or an `a-b` entry of a pool). */
export interface AddressRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

/** Thrown when a pool address entry is neither a CIDR nor an `a-b` range of one family. */
export class InvalidAddressRangeError extends Error {
  override name = 'InvalidAddressRangeError';
  /** The text that was rejected. */
  readonly input: string;

  constructor(input: string, message: string) {
    super(`${JSON.stringify(input)}: ${message}`);
    this.input = input;
  }
}

const V4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
    if (!V4_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseGroups(text: string): bigint[] | undefined {
  if (text === '') return [];
  const out: bigint[] = [];
  for (const g of text.split(':')) {
    if (!V6_GROUP.test(g)) return undefined;
    out.push(BigInt(`0x${g}`));
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  // No zone index (`%eth0`), no embedded dotted quad: a service IP needs neither.
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const g of [...head, ...Array<bigint>(missing).fill(0n), ...tail]) value = (value << 16n) | g;
  return value;
}

/** Parses one IPv4 or IPv6 address (surrounding white space allowed); undefined when it is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  const t = text.trim();
  if (t.includes(':')) {
    const value = parseV6(t);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(t);
  return value === undefined ? undefined : { family: 4, value };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run of 2+ groups compressed). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((value >> s) & 0xffffn));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** The canonical text of an address, or undefined when `text` is not one. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : formatIp(ip.family, ip.value);
}

/** Bits in an address of the family. */
export function familyBits(family: Family): bigint {
  return family === 4 ? 32n : 128n;
}

/**
 * Parses a pool address entry: a CIDR (`192.0.2.0/24`, `2001:db8::/120`) or an
 * inclusive range of one family (`192.0.2.10-192.0.2.20`). Host bits of a CIDR are
 * masked off, as MetalLB (Go's net.ParseCIDR) does, so its pools migrate unchanged.
 */
export function parseAddressRange(text: string): AddressRange {
  const t = text.trim();
  const dash = t.indexOf('-');
  if (dash >= 0) {
    const a = parseIp(t.slice(0, dash));
    const b = parseIp(t.slice(dash + 1));
    if (a === undefined || b === undefined)
      throw new InvalidAddressRangeError(text, 'not an `a-b` address range');
    if (a.family !== b.family)
      throw new InvalidAddressRangeError(text, 'the two ends are of different families');
    if (a.value > b.value) throw new InvalidAddressRangeError(text, 'the first address is above the last');
    return { family: a.family, first: a.value, last: b.value };
  }
  const slash = t.indexOf('/');
  if (slash < 0) throw new InvalidAddressRangeError(text, 'expected a CIDR (a.b.c.d/n) or a range (a-b)');
  const ip = parseIp(t.slice(0, slash));
  const prefixText = t.slice(slash + 1);
  if (ip === undefined) throw new InvalidAddressRangeError(text, 'not an IP address before the `/`');
  const bits = familyBits(ip.family);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText) || BigInt(prefixText) > bits) {
    throw new InvalidAddressRangeError(text, `the prefix length must be 0..${bits}`);
  }
  const hostBits = bits - BigInt(prefixText);
  const hostMask = (1n << hostBits) - 1n;
  const first = ip.value & ~hostMask;
  return { family: ip.family, first, last: first | hostMask };
}

/** The range's text form (`first-last`), for messages. */
export function formatRange(r: AddressRange): string {
  return `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`;
}

/** IPv4 addresses ending in .0 or .255, which some old clients and routers mishandle. */
export function isBuggyIp(family: Family, value: bigint): boolean {
  if (family !== 4) return false;
  const low = value & 0xffn;
  return low === 0n || low === 255n;
}

/** How many addresses of [first, last] end in .0 or .255 (IPv4 only; 0 for IPv6). */
export function countBuggy(r: AddressRange): bigint {
  if (r.family !== 4) return 0n;
  // Addresses ≡ k (mod 256) in [0, x]: floor((x - k) / 256) + 1 when x ≥ k.
  const upTo = (x: bigint, k: bigint): bigint => (x < k ? 0n : (x - k) / 256n + 1n);
  const inRange = (k: bigint): bigint => upTo(r.last, k) - (r.first === 0n ? 0n : upTo(r.first - 1n, k));
  return inRange(0n) + inRange(255n);
}
