import { matchesSelector, type Advertisement } from '../../election/index.ts';
import type { IPPool, L2Advertisement } from './types.generated.ts';

/** What toAdvertisement needs of a pool: its name and labels. */
export type PoolRef = Pick<IPPool, 'metadata'>;

const CORDON: Readonly<Record<L2Advertisement['spec']['cordonPolicy'], Advertisement['cordon']>> = {
  Keep: 'keep',
  HandOff: 'hand-off',
};

/**
 * The election's view of an L2Advertisement: its pools are those named in `ipPools`
 * plus every pool in `pools` whose labels match one of `ipPoolSelectors`, sorted and
 * without duplicates. A named pool that does not exist (yet) is kept: it advertises
 * nothing until it exists, and the view does not change when it appears.
 */
export function toAdvertisement(l2adv: L2Advertisement, pools: readonly PoolRef[]): Advertisement {
  const { spec } = l2adv;
  const names = new Set(spec.ipPools ?? []);
  const selectors = spec.ipPoolSelectors ?? [];
  for (const pool of pools) {
    const name = pool.metadata.name;
    if (name === undefined) continue;
    const labels = pool.metadata.labels ?? {};
    if (selectors.some((s) => matchesSelector(labels, s))) names.add(name);
  }
  return {
    name: l2adv.metadata.name ?? '',
    pools: [...names].sort(),
    nodeSelectors: spec.nodeSelectors ?? [],
    interfaces: spec.interfaces ?? [],
    cordon: CORDON[spec.cordonPolicy],
    failback: spec.failback,
  };
}
