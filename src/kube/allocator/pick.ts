/**
 * Addresses in pools: the pool an address belongs to, and picking an address of a
 * pool for a Service (one it can share, else the lowest free one).
 */
import { formatIp, type Family } from '../../ip/index.ts';
import { isBuggyIp } from './ip.ts';
import { usable, type Pool } from './pools.ts';
import { byValue, type AllocationTable, type Entry, type Held } from './table.ts';

/** The most preferred pool whose usable addresses contain the IP; null when none does. */
export function poolOf(pools: readonly Pool[], h: { family: Family; value: bigint }): string | null {
  return pools.find((p) => usable(p, h.family, h.value))?.view.name ?? null;
}

/** Is the IP inside one of the pool's ranges (usable or not)? */
export function inRanges(pool: Pool, ip: { family: Family; value: bigint }): boolean {
  return pool.ranges.some((r) => r.family === ip.family && r.first <= ip.value && ip.value <= r.last);
}

/**
 * An address of `family` in `pool` for the entry: one it can share (lowest),
 * else the lowest free one; never one of `taken` (picked for the entry in the
 * same decision, not held yet).
 */
export function pick(
  table: AllocationTable,
  pool: Pool,
  family: Family,
  entry: Entry,
  taken: ReadonlySet<string> = new Set(),
): Held | undefined {
  const key = entry.profile.sharingKey;
  if (key !== null) {
    let best: Held | undefined;
    for (const other of table.sharers(key)) {
      if (other === entry.key) continue;
      for (const h of table.entry(other)?.ips ?? []) {
        if (h.family !== family || !usable(pool, h.family, h.value)) continue;
        if (entry.ips.some((e) => e.ip === h.ip) || taken.has(h.ip)) continue;
        if (best !== undefined && byValue(h, best) >= 0) continue;
        if (table.conflictWith(h.ip, entry.key, entry.profile) === undefined) best = h;
      }
    }
    if (best !== undefined) return best;
  }
  return lowestFree(table, pool, family, taken);
}

/** Picks `n` distinct addresses of `family` in `pool` for the entry (see pick), or undefined if it has fewer. */
export function pickN(
  table: AllocationTable,
  pool: Pool,
  family: Family,
  entry: Entry,
  n: number,
  taken: Set<string> = new Set(),
): Held[] | undefined {
  const out: Held[] = [];
  while (out.length < n) {
    const h = pick(table, pool, family, entry, taken);
    if (h === undefined) return undefined;
    taken.add(h.ip);
    out.push(h);
  }
  return out;
}

function lowestFree(
  table: AllocationTable,
  pool: Pool,
  family: Family,
  taken: ReadonlySet<string>,
): Held | undefined {
  const avoid = pool.view.avoidBuggyIPs;
  for (const r of pool.ranges) {
    if (r.family !== family) continue;
    const hint = table.hint(r, avoid);
    // The hint says "nothing free below": it moves only past held addresses,
    // never past one picked and not held yet (the decision may still fail).
    let skipped = false;
    let x = hint.next;
    while (x <= r.last) {
      if (!(avoid && isBuggyIp(family, x))) {
        const ip = formatIp(family, x);
        if (taken.has(ip)) skipped = true;
        else if (!table.isHeld(ip)) {
          if (!skipped) hint.next = x;
          return { ip, family, value: x };
        }
      }
      x++;
    }
    if (!skipped) hint.next = x;
  }
  return undefined;
}
