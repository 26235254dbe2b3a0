import { matchesSelector } from '../../election/index.ts';
import type { AddressRange, Family } from '../../ip/index.ts';
import { countBuggy, isBuggyIp } from './ip.ts';
import type { PoolView, ServiceView } from './types.ts';

/** A pool with its ranges sorted and merged per family (what the allocator works on). */
export interface Pool {
  view: PoolView;
  ranges: readonly AddressRange[];
}

/** Sorts and merges overlapping or adjacent ranges of each family (IPv4 first). */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.family !== b.family ? a.family - b.family : a.first < b.first ? -1 : a.first > b.first ? 1 : 0,
  );
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last !== undefined && last.family === r.family && r.first <= last.last + 1n) {
      if (r.last > last.last) out[out.length - 1] = { ...last, last: r.last };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** Preference order: lower priority first, pools without a priority last, then by name. */
export function comparePools(a: PoolView, b: PoolView): number {
  const pa = a.priority ?? Infinity;
  const pb = b.priority ?? Infinity;
  if (pa !== pb) return pa < pb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function preparePools(views: readonly PoolView[]): Pool[] {
  return [...views].sort(comparePools).map((view) => ({ view, ranges: mergeRanges(view.addresses) }));
}

/** Does the pool admit the Service (namespaces or namespace selectors, and service selectors)? */
export function admits(pool: PoolView, svc: ServiceView): boolean {
  const byName = pool.namespaces.length > 0;
  const bySelector = pool.namespaceSelectors.length > 0;
  if (byName || bySelector) {
    const ok =
      pool.namespaces.includes(svc.namespace) ||
      pool.namespaceSelectors.some((s) => matchesSelector(svc.namespaceLabels, s));
    if (!ok) return false;
  }
  return (
    pool.serviceSelectors.length === 0 || pool.serviceSelectors.some((s) => matchesSelector(svc.labels, s))
  );
}

/** Is the address one the pool may hand out (inside a range, and not .0/.255 when it avoids those)? */
export function usable(pool: Pool, family: Family, value: bigint): boolean {
  if (pool.view.avoidBuggyIPs && isBuggyIp(family, value)) return false;
  return pool.ranges.some((r) => r.family === family && r.first <= value && value <= r.last);
}

export function hasFamily(pool: Pool, family: Family): boolean {
  return pool.ranges.some((r) => r.family === family);
}

/** Usable addresses of one family in the pool. */
export function usableCount(pool: Pool, family: Family): bigint {
  let n = 0n;
  for (const r of pool.ranges) {
    if (r.family !== family) continue;
    n += r.last - r.first + 1n - (pool.view.avoidBuggyIPs ? countBuggy(r) : 0n);
  }
  return n;
}

/** Two pools with at least one address in common. */
export interface PoolOverlap {
  /** Created first (or the lower name at equal times): this one stays. */
  earlier: string;
  /** Created later: the controller refuses it with a condition. */
  later: string;
  /** The first shared range found (sorted by address). */
  shared: AddressRange;
}

function byCreation(a: PoolView, b: PoolView): number {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp - b.creationTimestamp;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function firstShared(a: readonly AddressRange[], b: readonly AddressRange[]): AddressRange | undefined {
  let found: AddressRange | undefined;
  for (const x of a) {
    for (const y of b) {
      if (x.family !== y.family || x.last < y.first || y.last < x.first) continue;
      const r: AddressRange = {
        family: x.family,
        first: x.first > y.first ? x.first : y.first,
        last: x.last < y.last ? x.last : y.last,
      };
      if (
        found === undefined ||
        r.family < found.family ||
        (r.family === found.family && r.first < found.first)
      ) {
        found = r;
      }
    }
  }
  return found;
}

/** Every pair of pools that share an address, ordered by creation then name. */
export function findOverlaps(pools: readonly PoolView[]): PoolOverlap[] {
  const sorted = [...pools].sort(byCreation);
  const merged = sorted.map((p) => mergeRanges(p.addresses));
  const out: PoolOverlap[] = [];
  for (let j = 0; j < sorted.length; j++) {
    for (let i = 0; i < j; i++) {
      const shared = firstShared(merged[i] ?? [], merged[j] ?? []);
      const earlier = sorted[i];
      const later = sorted[j];
      if (shared !== undefined && earlier !== undefined && later !== undefined) {
        out.push({ earlier: earlier.name, later: later.name, shared });
      }
    }
  }
  return out;
}

/**
 * Accepts pools in creation order, refusing each that overlaps an already accepted
 * one. A refused pool refuses nothing else: when B overlaps A and C overlaps only B,
 * A and C are accepted.
 */
export function partitionPools(pools: readonly PoolView[]): {
  accepted: PoolView[];
  refused: { pool: string; overlapsWith: string; shared: AddressRange }[];
} {
  const accepted: { view: PoolView; ranges: AddressRange[] }[] = [];
  const refused: { pool: string; overlapsWith: string; shared: AddressRange }[] = [];
  for (const view of [...pools].sort(byCreation)) {
    const ranges = mergeRanges(view.addresses);
    const clash = accepted
      .map((a) => ({ a, shared: firstShared(a.ranges, ranges) }))
      .find((c) => c.shared !== undefined);
    if (clash?.shared !== undefined)
      refused.push({ pool: view.name, overlapsWith: clash.a.view.name, shared: clash.shared });
    else accepted.push({ view, ranges });
  }
  return { accepted: accepted.map((a) => a.view), refused };
}
