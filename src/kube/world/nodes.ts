import type { V1Node } from '@kubernetes/client-node';
import type { NodeView } from '../../election/index.ts';

const READY = new Set<NodeView['ready']>(['True', 'False', 'Unknown']);

/**
 * The election's view of a Node. A Node without a Ready condition (a kubelet that
 * never reported) is `Unknown`, so it is not eligible. Taint keys of every effect,
 * sorted and without duplicates (`not-ready` comes as NoSchedule and NoExecute).
 */
export function toNodeView(node: V1Node): NodeView {
  const meta = node.metadata ?? {};
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready')?.status;
  return {
    name: meta.name ?? '',
    ready:
      ready !== undefined && READY.has(ready as NodeView['ready']) ? (ready as NodeView['ready']) : 'Unknown',
    networkUnavailable: conditions.some((c) => c.type === 'NetworkUnavailable' && c.status === 'True'),
    // Presence is what counts (client-node may hand a Date or a string).
    deleting: meta.deletionTimestamp !== undefined,
    unschedulable: node.spec?.unschedulable === true,
    taints: [...new Set((node.spec?.taints ?? []).map((t) => t.key))].sort(),
    labels: { ...(meta.labels ?? {}) },
  };
}
