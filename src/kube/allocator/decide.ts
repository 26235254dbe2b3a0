/**
 * The allocator's decisions for one Service (docs/allocation.md): the IPs it asked
 * for, or the ones it keeps, completes or gets afresh, and the reason when it gets
 * none. Commits what it decides to the table; the Allocator calls it from `assign`.
 */
import { formatIp, parseIp } from '../../ip/index.ts';
import { isBuggyIp } from './ip.ts';
import { inRanges, pickN, poolOf } from './pick.ts';
import { admits, hasFamily, usable, type Pool } from './pools.ts';
import { familyName, readIntent, type Intent, type RequestedIp } from './request.ts';
import { byValue, type AllocationTable, type Entry, type Failure, type Held } from './table.ts';
import type { Assignment, Decision, ServiceView } from './types.ts';

/** What a decision reads and changes: the table, and the pools in preference order. */
export interface Book {
  readonly table: AllocationTable;
  readonly pools: readonly Pool[];
}

/** Decides the entry's IPs, holds them in the table and says what it decided. */
export function decide(book: Book, svc: ServiceView, entry: Entry, released: string[]): Decision {
  const fail = (f: Failure): Decision => ({
    kind: 'failed',
    reason: f.reason,
    message: f.message,
    kept: entry.ips.map((h) => h.ip),
    released,
  });
  const read = readIntent(svc);
  if (!read.ok) return fail({ reason: 'InvalidRequest', message: read.message });
  const intent = read.intent;

  let named: Pool | undefined;
  if (intent.pool !== null) {
    named = book.pools.find((p) => p.view.name === intent.pool);
    if (named === undefined)
      return fail({ reason: 'PoolNotFound', message: `pool ${intent.pool} does not exist` });
    if (!admits(named.view, svc)) {
      return fail({ reason: 'PoolNotAllowed', message: `pool ${intent.pool} does not admit ${entry.key}` });
    }
  }

  const result =
    intent.requested !== null
      ? requested(book, svc, entry, intent.requested.ips, named)
      : automatic(book, svc, entry, intent, named);
  if ('reason' in result) return fail(result);

  // Commit: drop what is no longer wanted, hold what is new.
  const want = new Set(result.ips.map((h) => h.ip));
  for (const h of [...entry.ips]) if (!want.has(h.ip)) released.push(...book.table.unhold(entry, h.ip));
  for (const h of result.ips) if (!entry.ips.some((e) => e.ip === h.ip)) book.table.hold(entry, h);
  return assigned(book, svc, entry, intent, released);
}

/** Exactly the requested IPs, each usable in an admitting pool (or already held) and free to share. */
function requested(
  book: Book,
  svc: ServiceView,
  entry: Entry,
  ips: readonly RequestedIp[],
  named: Pool | undefined,
): { ips: Held[] } | Failure {
  for (const ip of ips) {
    if (entry.ips.some((h) => h.ip === ip.text)) continue; // held already: kept even outside the pools
    const inPools = book.pools.filter((p) => usable(p, ip.family, ip.value));
    if (named !== undefined) {
      if (!inPools.includes(named)) {
        return {
          reason: 'RequestedIPOutsidePools',
          message: `${ip.text} is not a usable address of the requested pool ${named.view.name}`,
        };
      }
    } else if (inPools.length === 0) {
      const buggy = isBuggyIp(ip.family, ip.value) && book.pools.some((p) => inRanges(p, ip));
      return {
        reason: 'RequestedIPOutsidePools',
        message: buggy
          ? `${ip.text} ends in .0 or .255 and its pool avoids those (avoidBuggyIPs)`
          : `${ip.text} is not in any pool`,
      };
    } else if (!inPools.some((p) => admits(p.view, svc))) {
      return {
        reason: 'PoolNotAllowed',
        message: `${ip.text} is in pool ${inPools.map((p) => p.view.name).join(', ')}, which does not admit ${entry.key}`,
      };
    }
    const conflict = book.table.conflictWith(ip.text, entry.key, entry.profile);
    if (conflict !== undefined)
      return { reason: conflict.reason, message: `${ip.text}: ${conflict.message}` };
  }
  return { ips: ips.map((ip) => ({ ip: ip.text, family: ip.family, value: ip.value })) };
}

/** Keep what still fits, complete a partial dual-stack from the same pool, else allocate afresh. */
function automatic(
  book: Book,
  svc: ServiceView,
  entry: Entry,
  intent: Intent,
  named: Pool | undefined,
): { ips: Held[] } | Failure {
  const candidates =
    named !== undefined ? [named] : book.pools.filter((p) => p.view.autoAssign && admits(p.view, svc));
  // What it holds that still fits, at most `count` per family (the lowest: the
  // count went down, the rest is released).
  const keep = intent.families.flatMap((f) =>
    entry.ips
      .filter(
        (h) =>
          h.family === f &&
          (named === undefined || usable(named, h.family, h.value) || poolOf(book.pools, h) === null),
      )
      .sort(byValue)
      .slice(0, intent.count),
  );
  if (keep.length > 0) {
    const ips = [...keep];
    const home = poolOf(book.pools, keep[0] as Held);
    const homePool = candidates.find((p) => p.view.name === home);
    const taken = new Set(ips.map((h) => h.ip));
    // Complete the count of each family from the same pool (a partial dual-stack, a count raised).
    let complete = true;
    for (const f of intent.families) {
      const have = ips.filter((h) => h.family === f).length;
      if (have === intent.count) continue;
      const more =
        homePool === undefined
          ? undefined
          : pickN(book.table, homePool, f, entry, intent.count - have, taken);
      if (more !== undefined) ips.push(...more);
      // A family it has none of may stay missing (PreferDualStack); a short count may not.
      else if (have > 0 || intent.policy === 'RequireDualStack') complete = false;
    }
    if (complete) return { ips };
  }
  return fresh(book.table, entry, intent, candidates, named !== undefined);
}

function fresh(
  table: AllocationTable,
  entry: Entry,
  intent: Intent,
  candidates: readonly Pool[],
  named: boolean,
): { ips: Held[] } | Failure {
  if (candidates.length === 0) {
    return {
      reason: 'NoMatchingPool',
      message: `no pool admits ${entry.key} and assigns addresses automatically`,
    };
  }
  const families = intent.families;
  const n = intent.count;
  for (const pool of candidates) {
    const taken = new Set<string>();
    const picks = families.map((f) => pickN(table, pool, f, entry, n, taken));
    if (picks.every((p) => p !== undefined)) return { ips: picks.flat() };
  }
  if (families.length === 2 && intent.policy === 'PreferDualStack') {
    for (const f of families) {
      for (const pool of candidates) {
        const picked = pickN(table, pool, f, entry, n);
        if (picked !== undefined) return { ips: picked };
      }
    }
  }
  const names = families.map(familyName).join(' and ');
  if (n > 1 && candidates.some((p) => families.every((f) => hasFamily(p, f)))) {
    const where = named ? `pool ${candidates[0]?.view.name ?? ''}` : 'any admitting pool';
    return {
      reason: 'PoolExhausted',
      message: `meshlb.io/address-count is ${n}: fewer than ${n} free ${names} addresses in ${where}`,
    };
  }
  const where = named ? `pool ${candidates[0]?.view.name ?? ''}` : 'any admitting pool';
  if (intent.policy === 'RequireDualStack' && families.length === 2) {
    if (!candidates.some((p) => families.every((f) => hasFamily(p, f)))) {
      return { reason: 'DualStackUnavailable', message: `${where} lacks addresses of both IPv4 and IPv6` };
    }
    return { reason: 'PoolExhausted', message: `no free IPv4 and IPv6 pair in ${where}` };
  }
  if (!candidates.some((p) => families.some((f) => hasFamily(p, f)))) {
    return { reason: 'NoMatchingPool', message: `${where} has no ${names} addresses` };
  }
  return { reason: 'PoolExhausted', message: `no free ${names} address in ${where}` };
}

function assigned(book: Book, svc: ServiceView, entry: Entry, intent: Intent, released: string[]): Decision {
  const order = (h: Held): number => intent.families.indexOf(h.family);
  let ips = [...entry.ips].sort((a, b) => order(a) - order(b) || byValue(a, b)).map((h) => h.ip);
  const current = svc.currentIPs.map((t) => {
    const p = parseIp(t);
    return p === undefined ? undefined : formatIp(p.family, p.value);
  });
  const unchanged =
    current.length === ips.length &&
    current.every((c) => c !== undefined && ips.includes(c)) &&
    new Set(current).size === current.length;
  if (unchanged) ips = current as string[];
  const assignments: Assignment[] = ips.map((ip) => {
    const h = entry.ips.find((e) => e.ip === ip) as Held;
    return { ip, family: h.family, pool: poolOf(book.pools, h) };
  });
  const missingFamilies = intent.families
    .filter((f) => !entry.ips.some((h) => h.family === f))
    .map((f) => familyName(f));
  return {
    kind: 'assigned',
    ips,
    pool: assignments.find((a) => a.pool !== null)?.pool ?? null,
    assignments,
    unchanged,
    outsidePool: assignments.filter((a) => a.pool === null).map((a) => a.ip),
    missingFamilies,
    released,
  };
}
