/**
 * Parsing of IPPool `addresses` entries: a CIDR (`198.51.100.0/24`, `fd00::/120`) or a
 * range of two addresses joined by `-` (`198.51.100.10-198.51.100.20`).
 *
 * The grammar is the one the API server enforces with CEL (`isCIDR`, `isIP`, `ip`,
 * `cidr` of Kubernetes' CEL libraries, which are Go's `net/netip` parsers with
 * IPv4-mapped IPv6 addresses and zones refused), plus meshlb's own rules: no bits after
 * a CIDR's prefix length, a range's ends of one family and in order. Anything the API
 * server accepts parses here, and anything it refuses throws here, so the allocator can
 * trust a stored pool and a test can check both sides agree (test/cluster/crds.test.ts).
 */

export type Family = 4 | 6;

/** One parsed `addresses` entry: every address from `first` to `last`, inclusive. */
export interface AddressRange {
  family: Family;
  first: bigint;
  last: bigint;
}

/** Thrown when a pool's `addresses` entry is neither a CIDR nor a range (the `reason` says which rule it broke). */
export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
  readonly entry: string;
  readonly reason: string;
  constructor(entry: string, reason: string) {
    super(`invalid address entry ${JSON.stringify(entry)}: ${reason}`);
    this.entry = entry;
    this.reason = reason;
  }
}

const BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

/** Number of bits in an address of the family. */
export function familyBits(family: Family): number {
  return BITS[family];
}

/** An address: its family and value (`value` < 2^32 or 2^128). */
export interface IpAddress {
  family: Family;
  value: bigint;
}

function parseIPv4(s: string): bigint | undefined {
  const fields = s.split('.');
  if (fields.length !== 4) return undefined;
  let value = 0n;
  for (const f of fields) {
    // Decimal only, no leading zeros (Go's netip: "1.2.3.010" is not 1.2.3.8 nor 1.2.3.10).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(f)) return undefined;
    const n = Number(f);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** Go's netip.parseIPv6 without zones, on 16-bit groups. */
function parseIPv6(s: string): bigint | undefined {
  const groups: number[] = [];
  let ellipsis = -1;
  let rest = s;
  if (rest.startsWith('::')) {
    ellipsis = 0;
    rest = rest.slice(2);
    if (rest === '') return 0n;
  }
  while (groups.length < 8) {
    const m = /^[0-9a-fA-F]{1,4}/.exec(rest);
    if (m === null) return undefined;
    const digits = m[0];
    const after = rest.slice(digits.length);
    if (/^[0-9a-fA-F]/.test(after)) return undefined; // a fifth hex digit
    if (after.startsWith('.')) {
      // An embedded IPv4 address: the final 32 bits.
      if (ellipsis < 0 && groups.length !== 6) return undefined;
      if (groups.length + 2 > 8) return undefined;
      const v4 = parseIPv4(rest);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      rest = '';
      break;
    }
    groups.push(parseInt(digits, 16));
    rest = after;
    if (rest === '') break;
    if (!rest.startsWith(':') || rest.length === 1) return undefined;
    rest = rest.slice(1);
    if (rest.startsWith(':')) {
      if (ellipsis >= 0) return undefined;
      ellipsis = groups.length;
      rest = rest.slice(1);
      if (rest === '') break;
    }
  }
  if (rest !== '') return undefined;
  if (groups.length < 8) {
    if (ellipsis < 0) return undefined;
    groups.splice(ellipsis, 0, ...new Array<number>(8 - groups.length).fill(0));
  } else if (ellipsis >= 0) {
    return undefined; // "::" must stand for at least one group
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/**
 * Parses one address as the API server's CEL `ip()` does: IPv4 dotted quad without
 * leading zeros, or IPv6 (RFC 4291 text forms); no zone, no IPv4-mapped IPv6.
 * Returns undefined for anything else.
 */
export function parseIp(text: string): IpAddress | undefined {
  for (const c of text) {
    if (c === '.') {
      const v = parseIPv4(text);
      return v === undefined ? undefined : { family: 4, value: v };
    }
    if (c === ':') {
      const v = parseIPv6(text);
      if (v === undefined || v >> 32n === V4_MAPPED_PREFIX >> 32n) return undefined;
      return { family: 6, value: v };
    }
  }
  return undefined;
}

/** The canonical text of an address: dotted quad, or RFC 5952 for IPv6 (lower case, longest zero run as `::`). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // Longest run of two or more zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** Parses a CIDR as CEL's `isCIDR`/`cidr()` do (Go's netip.ParsePrefix), then requires no bits after the prefix. */
function parseCidr(entry: string): AddressRange {
  const slash = entry.lastIndexOf('/');
  const addrText = entry.slice(0, slash);
  const bitsText = entry.slice(slash + 1);
  const addr = parseIp(addrText);
  if (addr === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) {
    throw new InvalidAddressError(entry, 'not a CIDR (198.51.100.0/24, fd00::/120)');
  }
  const bits = Number(bitsText);
  const width = BITS[addr.family];
  if (bits > width) throw new InvalidAddressError(entry, `prefix length above ${width}`);
  const hostBits = BigInt(width - bits);
  const hostMask = (1n << hostBits) - 1n;
  if ((addr.value & hostMask) !== 0n) {
    const network = formatIp(addr.family, addr.value & ~hostMask);
    throw new InvalidAddressError(
      entry,
      `bits are set after the prefix length: did you mean ${network}/${bitsText}?`,
    );
  }
  return { family: addr.family, first: addr.value, last: addr.value | hostMask };
}

function parseRange(entry: string): AddressRange {
  const ends = entry.split('-');
  const a = ends.length === 2 ? parseIp(ends[0] ?? '') : undefined;
  const b = ends.length === 2 ? parseIp(ends[1] ?? '') : undefined;
  if (a === undefined || b === undefined) {
    throw new InvalidAddressError(
      entry,
      'not a CIDR (198.51.100.0/24) nor a range of two addresses joined by "-" (198.51.100.10-198.51.100.20)',
    );
  }
  if (a.family !== b.family)
    throw new InvalidAddressError(entry, 'the ends of a range are of different families');
  if (a.value > b.value)
    throw new InvalidAddressError(entry, 'the first address of a range is above the last');
  return { family: a.family, first: a.value, last: b.value };
}

/**
 * Parses one `spec.addresses` entry of an IPPool.
 * @throws InvalidAddressError when the API server would refuse the entry
 */
export function parseAddressEntry(entry: string): AddressRange {
  return entry.includes('/') ? parseCidr(entry) : parseRange(entry);
}

/** Number of addresses in a range. */
export function rangeSize(range: AddressRange): bigint {
  return range.last - range.first + 1n;
}
