import type { Reason } from './reasons.ts';
import { matchesSelector } from './selector.ts';
import type { Advertisement, NodeView, ServiceIp, World } from './types.ts';

/**
 * `take`: may this node start announcing the IP (only alive speakers may).
 * `keep`: may the current announcer go on (a suspected speaker may: a
 * suspicion alone must not drop an announcer; the mesh's verdict or the
 * Node's conditions do).
 */
export type Purpose = 'take' | 'keep';

export type Eligibility =
  | { ok: true; /** interfaces to answer on; empty = all */ interfaces: readonly string[] }
  | { ok: false; reason: Reason };

const TAINTS: readonly (readonly [string, Reason])[] = [
  ['node.kubernetes.io/unreachable', 'NodeTaintUnreachable'],
  ['node.kubernetes.io/not-ready', 'NodeTaintNotReady'],
  ['node.kubernetes.io/out-of-service', 'NodeTaintOutOfService'],
];
export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

function speaker(world: World, node: string, purpose: Purpose): Reason | undefined {
  switch (world.members.get(node)) {
    case undefined:
      return 'SpeakerNotMember';
    case 'dead':
      return 'SpeakerDead';
    case 'left':
      return 'SpeakerLeft';
    case 'suspect':
      return purpose === 'take' ? 'SpeakerSuspect' : undefined;
    case 'alive':
      return undefined;
  }
}

function nodeHealth(n: NodeView | undefined): Reason | undefined {
  if (n === undefined) return 'NodeNotFound';
  if (n.deleting) return 'NodeDeleting';
  if (n.ready !== 'True') return 'NodeNotReady';
  if (n.networkUnavailable) return 'NodeNetworkUnavailable';
  for (const [key, reason] of TAINTS) if (n.taints.includes(key)) return reason;
  if (Object.hasOwn(n.labels, EXCLUDE_LABEL)) return 'NodeExcludedByLabel';
  return undefined;
}

/** The advertisements of an IP's pool. */
export function advertisementsOf(world: World, ip: ServiceIp): Advertisement[] {
  return world.advertisements.filter((a) => a.pools.includes(ip.pool));
}

/** Whether `node` may announce `ip`, and on which interfaces; the first failing rule is the reason. */
export function eligibility(world: World, ip: ServiceIp, node: string, purpose: Purpose): Eligibility {
  const reason = speaker(world, node, purpose) ?? nodeHealth(world.nodes.get(node));
  if (reason !== undefined) return { ok: false, reason };
  const view = world.nodes.get(node) as NodeView;
  const ads = advertisementsOf(world, ip);
  if (ads.length === 0) return { ok: false, reason: 'NoAdvertisement' };
  const selecting = ads.filter(
    (a) => a.nodeSelectors.length === 0 || a.nodeSelectors.some((s) => matchesSelector(view.labels, s)),
  );
  if (selecting.length === 0) return { ok: false, reason: 'NotSelectedByAdvertisement' };
  // Cordon: hand off only if every advertisement selecting the node says so.
  const active = view.unschedulable ? selecting.filter((a) => a.cordon === 'keep') : selecting;
  if (active.length === 0) return { ok: false, reason: 'CordonedHandOff' };
  if (ip.localEndpointNodes !== undefined && !ip.localEndpointNodes.has(node)) {
    return { ok: false, reason: 'NoLocalEndpoint' };
  }
  const interfaces = active.some((a) => a.interfaces.length === 0)
    ? []
    : [...new Set(active.flatMap((a) => a.interfaces))].sort();
  return { ok: true, interfaces };
}
