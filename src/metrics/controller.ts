import type { Registry } from 'prom-client';
import type { Controller, WriteCounts } from '../controller/index.ts';
import { FAILURES, type PoolCounts } from '../kube/allocator/index.ts';
import { byLabel, mirroredCounter, mirroredGauge, oncePerTurn, type Labels } from './mirror.ts';

/** What the controller metrics read (a Controller has it). */
export type ControllerSource = Pick<Controller, 'stats' | 'pools' | 'leading'>;

type PoolLabel = 'pool' | 'family';

/** Per pool and family, for families the pool has addresses of. */
function perPool(
  pools: readonly PoolCounts[],
  value: (f: PoolCounts['ipv4']) => bigint,
): [Labels<PoolLabel>, number][] {
  const out: [Labels<PoolLabel>, number][] = [];
  for (const p of pools)
    for (const family of ['ipv4', 'ipv6'] as const) {
      const f = p[family];
      if (f.assigned + f.available > 0n) out.push([{ pool: p.pool, family }, Number(value(f))]);
    }
  return out;
}

/**
 * The controller's metrics (docs/metrics.md): pool capacity and use, IP
 * allocations and their failures by reason, status conflicts, patch wars,
 * API writes by resource and result, leadership. Pool gauges come from the
 * leader's allocation table (a standby exports none); counters mirror
 * Controller.stats() at scrape time.
 */
export function registerControllerMetrics(registry: Registry, controller: ControllerSource): void {
  const stats = oncePerTurn(() => controller.stats());
  const pools = oncePerTurn(() => controller.pools());
  mirroredGauge(registry, {
    name: 'meshlb_pool_capacity_addresses',
    help: 'Usable addresses of an IPPool, per family (the leader only).',
    labelNames: ['pool', 'family'],
    read: () => perPool(pools(), (f) => f.assigned + f.available),
  });
  mirroredGauge(registry, {
    name: 'meshlb_pool_used_addresses',
    help: 'Addresses of an IPPool assigned to Services, per family (the leader only).',
    labelNames: ['pool', 'family'],
    read: () => perPool(pools(), (f) => f.assigned),
  });
  mirroredCounter(registry, {
    name: 'meshlb_allocations_total',
    help: "New or changed IP assignments written to Services' status.",
    read: () => [[{}, stats().allocations]],
  });
  mirroredCounter(registry, {
    name: 'meshlb_allocation_failures_total',
    help: "Reconciles that left a Service's request unmet, by reason (the Warning Event's reason).",
    labelNames: ['reason'],
    read: () => byLabel('reason', stats().allocationFailures, Object.keys(FAILURES)),
  });
  mirroredCounter(registry, {
    name: 'meshlb_conflicts_total',
    help: 'Conflicts over Service status: status_owned_by_other (an apply refused, 409), restore (an IP in a status an older Service holds).',
    labelNames: ['kind'],
    read: () => {
      const s = stats();
      return [
        [{ kind: 'status_owned_by_other' }, s.conflicts],
        [{ kind: 'restore' }, s.restoreConflicts],
      ];
    },
  });
  mirroredCounter(registry, {
    name: 'meshlb_oscillation_breaks_total',
    help: 'Patch wars detected: another controller kept changing a Service, and meshlb paused its writes to it.',
    read: () => [[{}, stats().oscillationBreaks]],
  });
  mirroredGauge(registry, {
    name: 'meshlb_paused_services',
    help: 'Services whose writes are paused because of a patch war.',
    read: () => [[{}, stats().pausedServices]],
  });
  mirroredCounter(registry, {
    name: 'meshlb_api_writes_total',
    help: 'Kubernetes API writes by resource (services/status, ippools/status) and result (ok, conflict, error).',
    labelNames: ['resource', 'result'],
    read: () => {
      const out: [Labels<'resource' | 'result'>, number][] = [];
      for (const [resource, counts] of Object.entries<WriteCounts>(stats().apiWrites))
        for (const result of ['ok', 'conflict', 'error'] as const)
          out.push([{ resource, result }, counts[result]]);
      return out;
    },
  });
  mirroredGauge(registry, {
    name: 'meshlb_leader',
    help: '1 while this controller holds the leader Lease, else 0.',
    read: () => [[{}, controller.leading ? 1 : 0]],
  });
}
