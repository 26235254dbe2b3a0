/**
 * Worlds for the election's pure core (src/election): Ready nodes, one
 * L2Advertisement of every node for the `default` pool. Shared by the unit
 * tests and bench/placement.ts.
 */
import type { Advertisement, NodeView } from '../../src/election/index.ts';

/** An L2Advertisement of pool `default` on every node: keep on cordon, no failback. */
export const EVERY_NODE: Advertisement = Object.freeze({
  name: 'l2',
  pools: Object.freeze(['default']),
  nodeSelectors: Object.freeze([]),
  interfaces: Object.freeze([]),
  cordon: 'keep',
  failback: false,
});

/** A Node that is Ready, untainted, schedulable, unlabelled. */
export function readyNode(name: string): NodeView {
  return {
    name,
    ready: 'True',
    networkUnavailable: false,
    deleting: false,
    unschedulable: false,
    taints: [],
    labels: {},
  };
}
