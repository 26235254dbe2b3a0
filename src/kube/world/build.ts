import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Advertisement, Claim, NodeView, World } from '../../election/index.ts';
import type { MemberState } from '../../mesh/index.ts';
import { toAdvertisement, type IPPool, type L2Advertisement } from '../api/index.ts';
import type { ServiceRef } from '../announcements/index.ts';
import { localEndpoints } from './endpoints.ts';
import { toNodeView } from './nodes.ts';
import { poolIndex } from './pools.ts';
import { serviceIps, type UnannouncedIp } from './services.ts';

/** The objects a World is built from (any order), and the speaker's mesh state and claims. */
export interface WorldInputs {
  nodes: readonly V1Node[];
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
  pools: readonly IPPool[];
  advertisements: readonly L2Advertisement[];
  /** Mesh state of each speaker, by node name (the membership's view). */
  members: ReadonlyMap<string, MemberState>;
  /** The current claim per IP, after conflict resolution (the speaker's). */
  claims: ReadonlyMap<string, Claim>;
  /** The load bound's slack (World.balance); undefined: the bound is off. */
  balanceSlack?: number | undefined;
}

const byKey = <V>(entries: Iterable<readonly [string, V]>): Map<string, V> =>
  new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const byName = <T extends { name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

function freezeNode(n: NodeView): NodeView {
  Object.freeze(n.taints);
  Object.freeze(n.labels);
  return Object.freeze(n);
}

function freezeAdvertisement(a: Advertisement): Advertisement {
  return Object.freeze({
    ...a,
    pools: Object.freeze([...a.pools]),
    nodeSelectors: Object.freeze([...a.nodeSelectors]),
    interfaces: Object.freeze([...a.interfaces]),
  });
}

/**
 * The World and what did not make it into it: addresses in Service statuses
 * that are not announced, with the reason.
 */
export function analyseWorld(inputs: WorldInputs): {
  world: World;
  unannounced: UnannouncedIp[];
  services: Map<string, ServiceRef[]>;
} {
  const nodes = byKey(
    inputs.nodes
      .map(toNodeView)
      .filter((n) => n.name !== '')
      .map((n) => [n.name, freezeNode(n)] as const),
  );
  const advertisements = inputs.advertisements
    .map((a) => toAdvertisement(a, inputs.pools))
    .sort(byName)
    .map(freezeAdvertisement);
  const { ips, unannounced, services } = serviceIps(
    inputs.services,
    poolIndex(inputs.pools),
    localEndpoints(inputs.endpointSlices),
  );
  const world: World = Object.freeze({
    nodes,
    members: byKey(inputs.members),
    advertisements: Object.freeze(advertisements),
    ips: Object.freeze(ips.map((ip) => Object.freeze(ip))),
    claims: byKey(inputs.claims),
    ...(inputs.balanceSlack === undefined ? {} : { balance: Object.freeze({ slack: inputs.balanceSlack }) }),
  });
  return { world, unannounced, services };
}

/**
 * The election's snapshot of the cluster: a pure function of its inputs, the
 * same whatever order the objects come in (maps and lists sorted by name, IPs
 * by address). Frozen: nothing the election gets can change under it.
 */
export function buildWorld(inputs: WorldInputs): World {
  return analyseWorld(inputs).world;
}
