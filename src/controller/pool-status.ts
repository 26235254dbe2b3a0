import type { Logger } from 'pino';
import type { PoolCounts } from '../kube/allocator/index.ts';
import {
  GROUP,
  IPPOOL_CONDITIONS,
  IPPOOL_REASONS,
  PLURALS,
  VERSION,
  type Condition,
  type IPPool,
  type IPPoolStatus,
} from '../kube/api/index.ts';
import { CONTROLLER_MANAGER } from '../kube/views.ts';
import { APPLY_PATCH, objectPath, type KubeClient } from '../kube/client/index.ts';

/** What the controller concluded about one pool, before it becomes a status. */
export interface PoolVerdict {
  /** Why the pool is not used, if it is not. */
  refused?: { reason: 'InvalidAddresses' | 'OverlapsPool'; message: string } | undefined;
  /** Addresses Services still hold that this pool no longer contains. */
  outside: readonly string[];
  counts?: PoolCounts | undefined;
}

type Desired = Omit<Condition, 'lastTransitionTime'>;

/** The conditions of a verdict (without transition times). */
export function poolConditions(v: PoolVerdict, generation: number): Desired[] {
  const c = (type: string, ok: boolean, reason: string, message: string): Desired => ({
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
  const before = new Map((pool.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions = poolConditions(v, pool.metadata.generation ?? 0).map((d): Condition => ({
    ...d,
    lastTransitionTime:
      before.get(d.type)?.status === d.status
        ? (before.get(d.type)?.lastTransitionTime ?? now.toISOString())
        : now.toISOString(),
  }));
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

/**
 * Writes IPPool statuses (server-side apply, `meshlb-controller`), only when
 * what it would write differs from what it last wrote: a reconcile that
 * changes nothing costs no request.
 */
export class PoolStatusWriter {
  readonly #kube: KubeClient;
  readonly #log: Logger | undefined;
  readonly #last = new Map<string, string>();

  constructor(kube: KubeClient, log?: Logger) {
    this.#kube = kube;
    this.#log = log;
  }

  /** Writes the status if it changed; says whether it wrote, failed (logged), or had nothing to write. */
  async write(pool: IPPool, v: PoolVerdict, now: Date): Promise<'ok' | 'error' | 'unchanged'> {
    const name = pool.metadata.name ?? '';
    const desired = JSON.stringify([
      poolConditions(v, pool.metadata.generation ?? 0),
      String(v.counts?.ipv4.assigned),
      String(v.counts?.ipv6.assigned),
    ]);
    if (this.#last.get(name) === desired) return 'unchanged';
    try {
      await this.#kube.patch(
        `${objectPath(GROUP, VERSION, PLURALS.IPPool, undefined, name)}/status`,
        {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'IPPool',
          metadata: { name },
          status: poolStatus(pool, v, now),
        },
        { contentType: APPLY_PATCH, query: { fieldManager: CONTROLLER_MANAGER, force: true } },
      );
      this.#last.set(name, desired);
      return 'ok';
    } catch (err) {
      this.#log?.warn({ err, pool: name }, 'could not write the pool status');
      return 'error';
    }
  }

  forget(name: string): void {
    this.#last.delete(name);
  }
}
