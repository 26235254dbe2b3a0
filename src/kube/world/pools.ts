import { partitionPools, type PoolView } from '../allocator/index.ts';
import type { IPPool } from '../api/index.ts';
import type { IpAddress } from '../../ip/index.ts';
import { toPoolView } from '../views.ts';

/** Finds the IPPool an address belongs to. */
export interface PoolIndex {
  /** The pool containing `ip`, or undefined when no pool does. */
  poolOf(ip: IpAddress): string | undefined;
}

const byAge = (a: PoolView, b: PoolView): number =>
  a.creationTimestamp !== b.creationTimestamp
    ? a.creationTimestamp - b.creationTimestamp
    : a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : 0;

/**
 * Pools in the order an address is looked up: the pools the controller accepts
 * first (they do not overlap, so at most one contains an address), then the
 * pools it refuses for overlapping an older one, oldest first. A refused pool
 * still names its addresses outside the overlap: the controller never moves an
 * assigned IP, so an address assigned before the overlap appeared is still
 * announced, under that pool's advertisements. A pool whose addresses do not
 * parse (a schema change) contains nothing.
 */
export function poolIndex(pools: readonly IPPool[]): PoolIndex {
  const views: PoolView[] = [];
  for (const p of pools) {
    try {
      views.push(toPoolView(p));
    } catch {
      // Refused by the controller too (toPoolView throws InvalidAddressError).
    }
  }
  const { accepted, refused } = partitionPools(views);
  const refusedNames = new Set(refused.map((r) => r.pool));
  const order = [...[...accepted].sort(byAge), ...views.filter((v) => refusedNames.has(v.name)).sort(byAge)];
  return {
    poolOf(ip: IpAddress): string | undefined {
      return order.find((v) =>
        v.addresses.some((r) => r.family === ip.family && r.first <= ip.value && ip.value <= r.last),
      )?.name;
    },
  };
}
