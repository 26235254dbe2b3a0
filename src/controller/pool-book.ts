import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { partitionPools, type PoolCounts, type PoolView } from '../kube/allocator/index.ts';
import { formatRange, parseIp } from '../ip/index.ts';
import type { IPPool } from '../kube/api/index.ts';
import { toPoolView } from '../kube/views.ts';
import { poolStatus, poolStatusKey, type PoolVerdict } from './pool-status.ts';
import type { StatusApplier } from './status-applier.ts';
import type { WriteCounts } from './stats.ts';

function containsIp(pool: PoolView, ip: string): boolean {
  const a = parseIp(ip);
  return (
    a !== undefined &&
    pool.addresses.some((r) => r.family === a.family && r.first <= a.value && a.value <= r.last)
  );
}

export interface PoolBookInit {
  clock: Clock;
  applier: StatusApplier;
  /** Counts each status write's result. */
  onWrite: (result: keyof WriteCounts) => void;
  log?: Logger | undefined;
}

/**
 * The IPPools as the controller uses them: parsed, the bad and the
 * overlapping ones refused (with the reason their status shows), the spec
 * generations seen (a status write of ours changes a pool too, and must not
 * count as a change), and the pools' status: counts, conditions, and the IPs
 * that a pool edit left outside every pool.
 */
export class PoolBook {
  readonly #init: PoolBookInit;
  /** Pools in use, pools refused (and why), and the last pool each held IP was in. */
  #accepted: PoolView[] = [];
  readonly #refused = new Map<string, NonNullable<PoolVerdict['refused']>>();
  readonly #poolOfIp = new Map<string, string>();
  #generations = new Map<string, number | undefined>();

  constructor(init: PoolBookInit) {
    this.#init = init;
  }

  /** Whether `pool` is a change of spec (a new generation), not our own status write. */
  changed(pool: IPPool): boolean {
    return this.#generations.get(pool.metadata.name ?? '') !== pool.metadata.generation;
  }

  /** Notes the generations of `pools` (a change is known from here on). */
  seen(pools: readonly IPPool[]): void {
    this.#generations = new Map(pools.map((p) => [p.metadata.name ?? '', p.metadata.generation]));
  }

  /** Parses `pools`, refuses bad and overlapping ones, and notes why (for their status); the accepted ones. */
  views(pools: readonly IPPool[]): PoolView[] {
    const { log } = this.#init;
    const views: PoolView[] = [];
    this.#refused.clear();
    this.seen(pools);
    for (const p of pools) {
      try {
        views.push(toPoolView(p));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.#refused.set(p.metadata.name ?? '', { reason: 'InvalidAddresses', message });
        log?.warn({ err, pool: p.metadata.name }, 'pool refused: bad addresses');
      }
    }
    const { accepted, refused } = partitionPools(views);
    for (const r of refused) {
      const message = `overlaps pool ${r.overlapsWith} (created earlier) at ${formatRange(r.shared)}; not used`;
      this.#refused.set(r.pool, { reason: 'OverlapsPool', message });
      log?.warn({ pool: r.pool, overlapsWith: r.overlapsWith }, 'pool refused: it overlaps an older pool');
    }
    this.#accepted = accepted;
    return accepted;
  }

  /**
   * Writes every pool's status (counts, conditions) where it changed, from the
   * allocator's counts and table (one call at a time: the controller's DelayedSync).
   */
  async writeStatuses(
    pools: readonly IPPool[],
    counts: readonly PoolCounts[],
    table: readonly { ips: readonly string[] }[],
  ): Promise<void> {
    const byPool = new Map(counts.map((c) => [c.pool, c]));
    const outside = new Map<string, string[]>();
    for (const { ips } of table)
      for (const ip of ips) {
        const home = this.#accepted.find((p) => containsIp(p, ip))?.name;
        if (home !== undefined) this.#poolOfIp.set(ip, home);
        else {
          const was = this.#poolOfIp.get(ip);
          if (was !== undefined) outside.set(was, [...(outside.get(was) ?? []), ip]);
        }
      }
    const now = new Date(this.#init.clock.wallNow());
    for (const pool of pools) {
      const name = pool.metadata.name ?? '';
      const verdict = {
        refused: this.#refused.get(name),
        outside: outside.get(name) ?? [],
        counts: byPool.get(name),
      };
      const written = await this.#init.applier.apply('IPPool', name, poolStatusKey(pool, verdict), () =>
        poolStatus(pool, verdict, now),
      );
      if (written !== 'unchanged') this.#init.onWrite(written);
    }
  }
}
