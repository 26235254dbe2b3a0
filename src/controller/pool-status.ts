import type { PoolCounts } from '../kube/allocator/index.ts';
import { IPPOOL_CONDITIONS, IPPOOL_REASONS, type IPPool, type IPPoolStatus } from '../kube/api/index.ts';
import { stamped, type DesiredCondition } from './status-applier.ts';

/** What the controller concluded about one pool, before it becomes a status. */
export interface PoolVerdict {
  /** Why the pool is not used, if it is not. */
  refused?: { reason: 'InvalidAddresses' | 'OverlapsPool'; message: string } | undefined;
  /** Addresses Services still hold that this pool no longer contains. */
  outside: readonly string[];
  counts?: PoolCounts | undefined;
}

/** The conditions of a verdict (without transition times). */
export function poolConditions(v: PoolVerdict, generation: number): DesiredCondition[] {
  const c = (type: string, ok: boolean, reason: string, message: string): DesiredCondition => ({
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    observedGeneration: generation,
  });
  const overlap = v.refused?.reason === 'OverlapsPool';
  const shown = v.outside.slice(0, 5).join(', ') + (v.outside.length > 5 ? ', …' : '');
  return [
    v.refused === undefined
      ? c(IPPOOL_CONDITIONS.Ready, true, IPPOOL_REASONS.Allocatable, 'addresses are assigned from this pool')
      : c(IPPOOL_CONDITIONS.Ready, false, v.refused.reason, v.refused.message),
    overlap
      ? c(IPPOOL_CONDITIONS.Overlapping, true, IPPOOL_REASONS.OverlapsPool, v.refused?.message ?? '')
      : c(IPPOOL_CONDITIONS.Overlapping, false, IPPOOL_REASONS.NoOverlap, 'no address is in another pool'),
    v.outside.length > 0
      ? c(
          IPPOOL_CONDITIONS.AddressesInUseOutsidePool,
          true,
          IPPOOL_REASONS.PoolShrunk,
          `${v.outside.length} address(es) no longer in the pool are still assigned and kept until released: ${shown}`,
        )
      : c(
          IPPOOL_CONDITIONS.AddressesInUseOutsidePool,
          false,
          IPPOOL_REASONS.AllAddressesInPool,
          'every assigned address is in the pool',
        ),
  ];
}

/** The full status: conditions keep their transition time while their status stays. */
export function poolStatus(pool: IPPool, v: PoolVerdict, now: Date): IPPoolStatus {
  const conditions = stamped(pool.status?.conditions, poolConditions(v, pool.metadata.generation ?? 0), now);
  const fam = (f: PoolCounts['ipv4'] | undefined) => ({
    assigned: Number(f?.assigned ?? 0n),
    available: (f?.available ?? 0n).toString(),
  });
  return {
    assigned: Number((v.counts?.ipv4.assigned ?? 0n) + (v.counts?.ipv6.assigned ?? 0n)),
    ipv4: fam(v.counts?.ipv4),
    ipv6: fam(v.counts?.ipv6),
    conditions,
  };
}

/** What the pool's status says, without times: written only when this changes. */
export function poolStatusKey(pool: IPPool, v: PoolVerdict): string {
  return JSON.stringify([
    poolConditions(v, pool.metadata.generation ?? 0),
    String(v.counts?.ipv4.assigned),
    String(v.counts?.ipv6.assigned),
  ]);
}
