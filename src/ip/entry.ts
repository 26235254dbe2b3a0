/**
 * IPPool `addresses` entries: a CIDR (`198.51.100.0/24`, `fd00::/120`) or a range of two
 * addresses joined by `-` (`198.51.100.10-198.51.100.20`).
 *
 * The grammar is the one the API server enforces with CEL (`isCIDR`, `isIP`, `ip`,
 * `cidr` of Kubernetes' CEL libraries, which are Go's `net/netip` parsers with
 * IPv4-mapped IPv6 addresses and zones refused), plus meshlb's own rules: no bits after
 * a CIDR's prefix length (MetalLB masks them; `meshlb migrate` normalises), no spaces,
 * a range's ends of one family and in order. Anything the API server accepts parses
 * here, and anything it refuses throws here, so the allocator can trust a stored pool
 * and a test can check both sides agree (test/cluster/crds.test.ts).
 */
import { familyBits, formatIp, parseIp, type Family } from './address.ts';
import { InvalidAddressError } from './errors.ts';

/** One parsed `addresses` entry: every address from `first` to `last`, inclusive. */
export interface AddressRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

/** Parses a CIDR as CEL's `isCIDR`/`cidr()` do (Go's netip.ParsePrefix), then requires no bits after the prefix. */
function parseCidr(entry: string): AddressRange {
  const slash = entry.lastIndexOf('/');
  const bitsText = entry.slice(slash + 1);
  const addr = parseIp(entry.slice(0, slash));
  if (addr === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) {
    throw new InvalidAddressError(entry, 'not a CIDR (198.51.100.0/24, fd00::/120)');
  }
  const bits = Number(bitsText);
  const width = familyBits(addr.family);
  if (bits > width) throw new InvalidAddressError(entry, `prefix length above ${width}`);
  const hostMask = (1n << BigInt(width - bits)) - 1n;
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

/** The range's text form (`first-last`), for messages. */
export function formatRange(r: AddressRange): string {
  return `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`;
}
