/**
 * MetalLB `addresses` entries to meshlb's. MetalLB is lenient where meshlb is strict
 * (docs/api.md, "Address entries are strict"): it trims spaces around a range's `-`
 * and masks the bits after a CIDR's prefix length. Each rewrite keeps the same set of
 * addresses and is reported.
 */
import {
  familyBits,
  formatIp,
  InvalidAddressError,
  parseAddressEntry,
  parseIp,
  type AddressRange,
} from '../ip/index.ts';
import { LIMITS } from './constants.ts';
import { show, type Issues } from './issues.ts';

/** One entry, as meshlb takes it, with the addresses it covers. */
export interface Entry {
  readonly text: string;
  readonly range: AddressRange;
}

type Normalized = { entry: Entry; change?: string } | { error: string };

function parsed(text: string): Normalized {
  try {
    return { entry: { text, range: parseAddressEntry(text) } };
  } catch (err) {
    if (err instanceof InvalidAddressError) return { error: err.reason };
    throw err;
  }
}

function normalizeRange(text: string): Normalized {
  const parts = text.split('-');
  if (parts.length !== 2) return { error: 'a range is two addresses joined by one "-"' };
  const joined = parts.map((p) => p.trim()).join('-');
  const result = parsed(joined);
  if ('error' in result || joined === text) return result;
  return { ...result, change: `spaces around "-" removed: ${joined}` };
}

function normalizeCidr(text: string): Normalized {
  const slash = text.lastIndexOf('/');
  const addr = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (addr !== undefined && /^(0|[1-9][0-9]{0,2})$/.test(bitsText)) {
    const width = familyBits(addr.family);
    const bits = Number(bitsText);
    if (bits <= width) {
      const hostMask = (1n << BigInt(width - bits)) - 1n;
      if ((addr.value & hostMask) !== 0n) {
        const masked = `${formatIp(addr.family, addr.value & ~hostMask)}/${bitsText}`;
        const result = parsed(masked);
        if ('error' in result) return result;
        return {
          ...result,
          change: `bits set after the prefix length (MetalLB masks them, meshlb refuses them): written as ${masked}`,
        };
      }
    }
  }
  return parsed(text);
}

function normalizeSingle(text: string): Normalized {
  const addr = parseIp(text);
  if (addr === undefined)
    return { error: 'not a CIDR (198.51.100.0/24) nor a range (198.51.100.10-198.51.100.20)' };
  const cidr = `${text}/${String(familyBits(addr.family))}`;
  const result = parsed(cidr);
  if ('error' in result) return result;
  return {
    ...result,
    change: `a single address without a prefix length (MetalLB refuses it too): written as ${cidr}`,
  };
}

/** Converts one MetalLB entry; `change` says what was rewritten, if anything. */
export function normalizeEntry(raw: string): Normalized {
  const text = raw.trim();
  const result = text.includes('-')
    ? normalizeRange(text)
    : text.includes('/')
      ? normalizeCidr(text)
      : normalizeSingle(text);
  if ('error' in result || text === raw || result.change !== undefined) return result;
  return { ...result, change: `spaces trimmed: ${result.entry.text}` };
}

/** The shortest text for a range: a CIDR when it is one, `first-last` otherwise. */
export function rangeText(r: AddressRange): string {
  const size = r.last - r.first + 1n;
  const width = familyBits(r.family);
  for (let bits = 0; bits <= width; bits++) {
    const block = 1n << BigInt(width - bits);
    if (block === size && r.first % block === 0n) return `${formatIp(r.family, r.first)}/${String(bits)}`;
  }
  return `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`;
}

/** Merges overlapping and adjacent ranges of one family; IPv4 first, each family in order. */
export function coalesce(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.family !== b.family ? a.family - b.family : a.first < b.first ? -1 : a.first > b.first ? 1 : 0,
  );
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last?.family === r.family && r.first <= last.last + 1n) {
      out[out.length - 1] = {
        family: r.family,
        first: last.first,
        last: r.last > last.last ? r.last : last.last,
      };
    } else {
      out.push(r);
    }
  }
  return out;
}

/**
 * Converts `spec.addresses` of an IPAddressPool. Returns the entries (undefined when
 * the pool cannot be converted) and records what it changed in `issues`.
 */
export function convertAddresses(value: unknown, issues: Issues): string[] | undefined {
  if (value === undefined || value === null) {
    issues.error('addresses: missing (a pool needs at least one address)');
    return undefined;
  }
  if (!Array.isArray(value)) {
    issues.error(`addresses: must be a list, got ${show(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    issues.error('addresses: empty (a pool needs at least one address)');
    return undefined;
  }
  const entries: Entry[] = [];
  const seen = new Set<string>();
  let ok = true;
  for (const [i, raw] of (value as unknown[]).entries()) {
    const field = `addresses[${String(i)}]`;
    if (typeof raw !== 'string') {
      issues.error(`${field}: must be a string, got ${show(raw)}`);
      ok = false;
      continue;
    }
    const result = normalizeEntry(raw);
    if ('error' in result) {
      issues.error(`${field}: ${show(raw)}: ${result.error}`);
      ok = false;
      continue;
    }
    if (result.change !== undefined) issues.warning(`${field}: ${show(raw)}: ${result.change}`);
    if (seen.has(result.entry.text)) {
      issues.warning(`${field}: ${show(raw)}: duplicate of an earlier entry, left out`);
      continue;
    }
    seen.add(result.entry.text);
    entries.push(result.entry);
  }
  if (!ok) return undefined;
  if (entries.length <= LIMITS.addresses) return entries.map((e) => e.text);
  const merged = coalesce(entries.map((e) => e.range));
  if (merged.length > LIMITS.addresses) {
    issues.error(
      `addresses: ${String(entries.length)} entries (${String(merged.length)} after merging adjacent ones), ` +
        `meshlb takes at most ${String(LIMITS.addresses)} per pool: split the pool in two (or more) pools with the same labels and settings`,
    );
    return undefined;
  }
  issues.warning(
    `addresses: ${String(entries.length)} entries are more than meshlb's ${String(LIMITS.addresses)} per pool: ` +
      `merged adjacent and overlapping ones into ${String(merged.length)} (the same addresses)`,
  );
  return merged.map(rangeText);
}
