/**
 * What `meshlb status` and `meshlb explain` read: a speaker's /debug/mesh (the
 * mesh as that speaker sees it), and one list of each object the speakers
 * watch, from the API server, to rebuild their World.
 */
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Claim, World } from '../election/index.ts';
import {
  GROUP,
  PLURALS,
  VERSION,
  type IPPool,
  type L2Advertisement,
  type ServiceAnnouncement,
} from '../kube/api/index.ts';
import {
  analyseWorld,
  SPEAKER_SELECTOR,
  speakerIdentities,
  type UnannouncedIp,
} from '../kube/world/index.ts';
import { objectPath, type KubeClient } from '../kube/client/index.ts';
import type { MemberState } from '../mesh/index.ts';
import { CliUsageError } from './errors.ts';

/** The parts of a speaker's /debug/mesh these commands use (src/speaker/speaker.ts debug()). */
export interface SpeakerDebug {
  node: string;
  notReady: string[];
  members: { node: string; state: MemberState; incarnation: number }[];
  claims: Claim[];
  decisions: {
    ip: string;
    announcer: string | null;
    cause: string;
    epoch: number | null;
    heirs: string[];
    services: string[];
    rejected: Record<string, string>;
  }[];
  /** The speaker's load bound (null: off; absent: a speaker from before it). */
  balance?: { slack: number; bound: number | null } | null;
}

/** Thrown when a speaker's debug endpoint cannot be read. */
export class SpeakerUnreachableError extends Error {
  override name = 'SpeakerUnreachableError';
}

export async function fetchDebug(base: string): Promise<SpeakerDebug> {
  let url: URL;
  try {
    url = new URL('/debug/mesh', base);
  } catch {
    throw new CliUsageError(`--speaker "${base}" is not a URL (e.g. http://127.0.0.1:7474)`);
  }
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (err) {
    throw new SpeakerUnreachableError(
      `cannot reach the speaker at ${url.href} (${(err as Error).message}); a speaker serves it on its node's loopback (--health-addr, default 127.0.0.1:7474); from elsewhere: kubectl -n meshlb-system port-forward pod/<a speaker Pod> 7474, then --speaker http://127.0.0.1:7474`,
    );
  }
  if (!res.ok)
    throw new SpeakerUnreachableError(
      `${url.href} answered ${res.status}: is this a meshlb speaker's debug endpoint? (its --health-addr, default 127.0.0.1:7474; port 7475 serves /metrics only)`,
    );
  return (await res.json()) as SpeakerDebug;
}

export interface ClusterLists {
  world: World;
  unannounced: UnannouncedIp[];
  announcements: ServiceAnnouncement[];
  speakerPods: V1Pod[];
  /** Where the member states came from, for the reader. */
  membersFrom: string;
}

/**
 * The World as the speakers build it, from one list of each object. Member
 * states and claims come from a speaker's debug endpoint when given; else
 * every node with a speaker Pod that published its identity counts as alive
 * (said so in `membersFrom`), and claims come from the ServiceAnnouncements.
 */
export async function clusterLists(
  kc: KubeClient,
  namespace: string,
  debug?: SpeakerDebug,
  balanceSlack?: number,
): Promise<ClusterLists> {
  const crd = async <T>(plural: string): Promise<T[]> =>
    (await kc.list<T>(objectPath(GROUP, VERSION, plural))).items;
  const [nodes, services, slices, pools, advertisements, announcements, pods] = await Promise.all([
    kc.list<V1Node>('/api/v1/nodes'),
    kc.list<V1Service>('/api/v1/services'),
    kc.list<V1EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices'),
    crd<IPPool>(PLURALS.IPPool),
    crd<L2Advertisement>(PLURALS.L2Advertisement),
    crd<ServiceAnnouncement>(PLURALS.ServiceAnnouncement),
    kc.list<V1Pod>(objectPath('', 'v1', 'pods', namespace), { labelSelector: SPEAKER_SELECTOR }),
  ]);
  const members = new Map<string, MemberState>();
  const claims = new Map<string, Claim>();
  let membersFrom: string;
  if (debug !== undefined) {
    for (const m of debug.members) members.set(m.node, m.state);
    for (const c of debug.claims) claims.set(c.ip, c);
    membersFrom = `the mesh as speaker ${debug.node} sees it`;
  } else {
    for (const id of speakerIdentities(pods.items)) members.set(id.node, 'alive');
    for (const a of announcements)
      for (const e of a.status?.announcements ?? [])
        claims.set(e.ip, { ip: e.ip, node: e.node, epoch: e.epoch });
    membersFrom =
      'assumed alive: every node whose speaker Pod published its identity (pass --speaker for the mesh’s view)';
  }
  const { world, unannounced } = analyseWorld({
    nodes: nodes.items,
    services: services.items,
    endpointSlices: slices.items,
    pools,
    advertisements,
    members,
    claims,
    balanceSlack,
  });
  return { world, unannounced, announcements, speakerPods: pods.items, membersFrom };
}

/** Rows as aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}
