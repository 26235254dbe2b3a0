/**
 * What Kubernetes itself does to meshlb, on real kubelets, as a client pinging
 * a Service IP every 10 ms sees it, or with a real kube-proxy a client making
 * a new TCP connection every 10 ms: a speaker Pod deleted or killed, a node's
 * cable pulled, its kubelet stopped until the node lifecycle controller marks
 * it NotReady, a node drained, the speakers restarted by a rollout, the
 * leading controller's Pod deleted. Each returns figures (test/kubelet/scenarios.test.ts judges one
 * trial; bench/kubelet.ts repeats them and prints the spread).
 */
import { AppsV1Api, CoordinationV1Api, CoreV1Api, Watch, type V1Node } from '@kubernetes/client-node';
import {
  answeringHosts,
  lostEchoes,
  pingEchoes,
  watchNeighbours,
  type NeighbourMove,
  type Observation,
} from '../netns/index.ts';
import { poll } from '../poll.ts';
import { longestTcpGap, tcpAttempts, tcpOutage } from '../lab/probes.ts';
import { backendsRolledOut } from './backends.ts';
import type { KubeletCluster } from './cluster.ts';
import { MESHLB_NAMESPACE, rolloutState, SPEAKER_ARGV, SPEAKER_DS } from './install.ts';
import { LAB_NAMESPACE } from '../lab/services.ts';

/** Thrown when a scenario's cluster does not reach the state it waits for. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

export interface ScenarioResult {
  scenario: string;
  /** The node that answered for the IP before. */
  victim: string;
  /** The node that answers after (may be the victim when nothing had to move). */
  after: string;
  /** How the client judged it. */
  client: ScenarioClient;
  /** Echo requests without a reply, or requests that failed, in all. */
  lost: number;
  /** Longest time without an echo reply or a successful request, ms. */
  longestGapMs: number;
  /** From the first failed request to the first success after it (TCP; ping: the longest gap), ms. */
  outageMs: number;
  /** The failed requests (TCP): their start, ms after the fault, how long each lasted (ms), and why. */
  failures: { ms: number; durationMs: number; why: string }[];
  /** The client's neighbour entry for the IP moving to another node, ms after the fault. */
  moves: { ms: number; node: string }[];
  /** Scenario-specific times (ms), e.g. from NotReady to the move. */
  times: Record<string, number>;
  /** The victim's speaker Pod's peer ID before and after (delete-pod: the new Pod on the same node). */
  peerIds?: { before: string | undefined; after: string | undefined };
}

/** The lab nodes whose MACs answer for `ip` (two probes: a second answering node shows too). */
export function answeringNodes(c: KubeletCluster, ip: string): Promise<string[]> {
  const client = c.lan.client;
  if (client === undefined) throw new ScenarioError('the LAN has no client');
  return answeringHosts(c.lan, client, ip, 2);
}

/** Waits until exactly one node answers for `ip` (optionally: one other than `not`); returns it. */
export async function soleAnswerer(
  c: KubeletCluster,
  ip: string,
  timeoutMs: number,
  not?: string,
): Promise<string> {
  const who = await poll(
    async () => {
      const w = await answeringNodes(c, ip);
      return w.length === 1 && w[0] !== not ? w[0] : undefined;
    },
    timeoutMs,
    100,
  );
  if (who === undefined)
    throw new ScenarioError(
      `no single node${not === undefined ? '' : ` other than ${not}`} answered for ${ip} within ${timeoutMs} ms`,
    );
  return who;
}

async function speakerPodOn(
  c: KubeletCluster,
  node: string,
): Promise<{ name: string; uid: string; peerId: string | undefined } | undefined> {
  const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({
    namespace: MESHLB_NAMESPACE,
    labelSelector: 'app.kubernetes.io/component=speaker',
    fieldSelector: `spec.nodeName=${node}`,
  });
  const p = pods.items.find((x) => x.metadata?.deletionTimestamp === undefined);
  return p === undefined
    ? undefined
    : {
        name: p.metadata?.name ?? '',
        uid: p.metadata?.uid ?? '',
        peerId: p.metadata?.annotations?.['meshlb.io/peer-id'],
      };
}

/** Every speaker Pod ready, one per node. */
export async function waitSpeakersReady(c: KubeletCluster, timeoutMs: number): Promise<void> {
  const ok = await poll(
    async () => {
      const s = await rolloutState(c);
      return s !== undefined && s.speakersReady === c.nodes.length;
    },
    timeoutMs,
    250,
  );
  if (ok === undefined) throw new ScenarioError(`the speakers were not all ready within ${timeoutMs} ms`);
}

/**
 * How a scenario's client judges it: `ping` sends an echo request every 10 ms
 * (answered where the lab accepts the IP on `lo`); `tcp` opens a new TCP
 * connection and makes a request every 10 ms (TCP_DEADLINE_MS each), through
 * a real kube-proxy to the backend Pods (kubelet/backends.ts).
 */
export type ScenarioClient = 'ping' | 'tcp';

/**
 * A request's deadline: an answer later than this is a failure. 1 s, not the
 * chaos client's 200 ms: on this 2-core machine a rollout (containers
 * stopping and starting, every informer busy) delays an answer by 200 ms now
 * and then with nothing lost, which a user would not call a failure; a
 * request a node drops or resets still fails on the spot.
 */
export const TCP_DEADLINE_MS = 1_000;

interface Observed {
  lost: number;
  longestGapMs: number;
  outageMs: number;
  faultAt: number;
  movedAt: number | undefined;
  /** The client's failed requests (TCP): their start, ms after the fault, how long each lasted (ms), and why. */
  failures: { ms: number; durationMs: number; why: string }[];
  /** Each change of the client's neighbour entry for the IP to another node's MAC: ms after the fault. */
  moves: { ms: number; node: string }[];
}

/**
 * Runs `fault` while the client (ping or TCP) talks to `ip` every 10 ms and
 * the client's neighbour entry for it is watched; ends once `settled` holds
 * and 50 more answers came back. `movedAt`: when the entry first took a MAC
 * other than `victim`'s (the new announcer's gratuitous ARP), as `ip monitor`
 * stamped it.
 */
async function observed(
  c: KubeletCluster,
  ip: string,
  victim: string,
  fault: () => Promise<void>,
  settled: () => Promise<boolean>,
  timeoutMs: number,
  kind: ScenarioClient = 'ping',
): Promise<Observed> {
  const client = c.lan.client;
  if (client === undefined) throw new ScenarioError('the LAN has no client');
  const victimMac = c.node(victim).host.mac;
  const neigh: Observation<NeighbourMove> = watchNeighbours(c.lan, client, ip);
  const ping = kind === 'ping' ? pingEchoes(c.lan, client, ip, 0.01) : undefined;
  const tcp = kind === 'tcp' ? tcpAttempts(c.lan, client, ip, { timeoutMs: TCP_DEADLINE_MS }) : undefined;
  const answers = (): number => ping?.list.length ?? tcp?.list.filter((a) => a.ok).length ?? 0;
  try {
    if ((await poll(() => answers() >= 20, 10_000, 20)) === undefined) {
      throw new ScenarioError(`${ip} did not answer the ${kind} client before the fault`);
    }
    const from = ping?.list.length ?? 0;
    const faultAt = Date.now();
    await fault();
    if ((await poll(settled, timeoutMs, 100)) === undefined)
      throw new ScenarioError(`not settled within ${timeoutMs} ms`);
    const n = answers();
    await poll(() => answers() >= n + 50, 5_000, 20);
    const end = Date.now();
    const moved = neigh.list.find((m) => m.t >= faultAt && m.mac.toLowerCase() !== victimMac);
    const moves: Observed['moves'] = [];
    let mac = victimMac;
    for (const m of neigh.list.filter((x) => x.t >= faultAt)) {
      if (m.mac.toLowerCase() === mac) continue;
      mac = m.mac.toLowerCase();
      moves.push({ ms: Math.round(m.t - faultAt), node: c.lan.hostOfMac(mac)?.name ?? mac });
    }
    if (tcp !== undefined) {
      const o = tcpOutage(tcp.list, faultAt, end);
      return {
        lost: o.failed,
        outageMs: o.outageMs,
        longestGapMs: longestTcpGap(tcp.list, faultAt, end),
        faultAt,
        movedAt: moved?.t,
        failures: tcp.list
          .filter((a) => !a.ok && a.t >= faultAt && a.t <= end)
          .map((a) => ({ ms: Math.round(a.t - faultAt), durationMs: Math.round(a.ms), why: a.why ?? '' })),
        moves,
      };
    }
    const window = (ping?.list ?? []).slice(Math.max(0, from - 1));
    const gaps = window.slice(1).map((r, i) => r.t - (window[i]?.t ?? r.t));
    const longestGapMs = Math.max(0, ...gaps);
    return {
      lost: lostEchoes(ping?.list ?? [], from).lost,
      longestGapMs,
      outageMs: longestGapMs,
      faultAt,
      movedAt: moved?.t,
      failures: [],
      moves,
    };
  } finally {
    ping?.stop();
    tcp?.stop();
    neigh.stop();
  }
}

/** Exactly one node other than `victim` answers ARP for `ip`. */
async function movedAway(c: KubeletCluster, ip: string, victim: string): Promise<boolean> {
  const w = await answeringNodes(c, ip);
  return w.length === 1 && w[0] !== victim;
}

/** The move's time after `from` (ms), or NaN when the client's entry never moved. */
const since = (movedAt: number | undefined, from: number): number =>
  movedAt === undefined ? Number.NaN : movedAt - from;

/**
 * A fault that must move `ip` off `victim`: runs it under the client and
 * waits until exactly one other node answers. The result but its name.
 */
async function moveOff(
  c: KubeletCluster,
  ip: string,
  victim: string,
  client: ScenarioClient,
  fault: () => Promise<void>,
  timeoutMs = 30_000,
): Promise<Omit<ScenarioResult, 'scenario'>> {
  const r = await observed(c, ip, victim, fault, () => movedAway(c, ip, victim), timeoutMs, client);
  const after = await soleAnswerer(c, ip, 10_000);
  return { client, victim, after, ...r, times: { movedMs: since(r.movedAt, r.faultAt) } };
}

/** `kubectl delete pod` of the announcer's speaker: a SIGTERM, so a planned hand-off; then the DaemonSet's new Pod. */
export async function deleteAnnouncerPod(
  c: KubeletCluster,
  ip: string,
  client: ScenarioClient = 'ping',
): Promise<ScenarioResult> {
  const victim = await soleAnswerer(c, ip, 30_000);
  const pod = await speakerPodOn(c, victim);
  if (pod === undefined) throw new ScenarioError(`no speaker Pod on ${victim}`);
  const moved = await moveOff(c, ip, victim, client, async () => {
    const d = await c.cp.kubectl(['-n', MESHLB_NAMESPACE, 'delete', 'pod', pod.name, '--wait=false']);
    if (d.code !== 0) throw new ScenarioError(`kubectl delete pod: ${d.stderr}`);
  });
  await waitSpeakersReady(c, 120_000);
  const replacement = await speakerPodOn(c, victim);
  return { scenario: 'delete-pod', ...moved, peerIds: { before: pod.peerId, after: replacement?.peerId } };
}

/** `kill -9` of the announcer's speaker container process; the kubelet restarts the container. */
export async function killAnnouncerSpeaker(
  c: KubeletCluster,
  ip: string,
  client: ScenarioClient = 'ping',
): Promise<ScenarioResult> {
  const victim = await soleAnswerer(c, ip, 30_000);
  const pid = c.node(victim).containerPid(SPEAKER_ARGV);
  if (pid === undefined) throw new ScenarioError(`no speaker process on ${victim}`);
  const moved = await moveOff(c, ip, victim, client, () => {
    process.kill(pid, 'SIGKILL');
    return Promise.resolve();
  });
  await waitSpeakersReady(c, 120_000);
  return { scenario: 'kill-9', ...moved };
}

/**
 * The announcer's cable pulled: its LAN link (and its way to the API server)
 * down until another node answers, then back; waits for its speaker to be
 * ready again.
 */
export async function cutAnnouncerLink(
  c: KubeletCluster,
  ip: string,
  client: ScenarioClient = 'ping',
): Promise<ScenarioResult> {
  const victim = await soleAnswerer(c, ip, 30_000);
  const host = c.node(victim).host;
  const moved = await moveOff(c, ip, victim, client, async () => {
    c.api.cut(host);
    await c.lan.linkDown(host);
  });
  await c.lan.linkUp(host);
  await c.api.relay(c.lan, host);
  await waitSpeakersReady(c, 120_000);
  return { scenario: 'link-cut', ...moved };
}

function nodeReady(
  node: { status?: { conditions?: { type: string; status: string }[] } } | undefined,
): string | undefined {
  return node?.status?.conditions?.find((x) => x.type === 'Ready')?.status;
}

/**
 * The announcer's kubelet stops (SIGKILL; its Pods run on). The node lifecycle
 * controller marks the Node NotReady after its grace period; meshlb must move
 * the IP then, and the node must not answer again while NotReady. The kubelet
 * is started again at the end and the node is Ready again; sticky placement
 * keeps the IP where it went.
 */
export async function stopAnnouncerKubelet(
  c: KubeletCluster,
  ip: string,
  watchNotReadyMs = 8_000,
  client: ScenarioClient = 'ping',
): Promise<ScenarioResult> {
  const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
  const victim = await soleAnswerer(c, ip, 30_000);
  const node = c.node(victim);
  let notReadyAt = 0;
  let movedAt = 0;
  const answeredWhileNotReady: string[] = [];
  // When the API server tells watchers (the speakers among them) that the Node is no longer Ready.
  const watch = await new Watch(c.cp.kubeConfig).watch(
    '/api/v1/nodes',
    { fieldSelector: `metadata.name=${victim}` },
    (_type: string, obj: V1Node) => {
      if (notReadyAt === 0 && nodeReady(obj) !== 'True') notReadyAt = Date.now();
    },
    () => undefined,
  );
  let r: Observed;
  try {
    r = await observed(
      c,
      ip,
      victim,
      () => node.stopKubelet(),
      async () => {
        if (notReadyAt === 0) return false;
        // Once another node answers, the victim must stay silent while NotReady.
        const w = await answeringNodes(c, ip);
        if (movedAt > 0 && w.includes(victim)) answeredWhileNotReady.push(new Date().toISOString());
        if (movedAt === 0 && w.length === 1 && w[0] !== victim) movedAt = Date.now();
        return movedAt > 0 && Date.now() - movedAt > watchNotReadyMs;
      },
      120_000,
      client,
    );
  } finally {
    watch.abort();
  }
  if (answeredWhileNotReady.length > 0) {
    throw new ScenarioError(
      `${victim} answered for ${ip} while NotReady (${answeredWhileNotReady.join(', ')})`,
    );
  }
  const after = await soleAnswerer(c, ip, 10_000);
  node.startKubelet();
  const ready = await poll(
    async () => nodeReady(await core.readNode({ name: victim })) === 'True',
    60_000,
    250,
  );
  if (ready === undefined)
    throw new ScenarioError(`${victim} not Ready again within 60 s:\n${node.kubeletLogTail()}`);
  await waitSpeakersReady(c, 60_000);
  return {
    scenario: 'kubelet-stopped',
    victim,
    after,
    client,
    ...r,
    times: { notReadyMs: notReadyAt - r.faultAt, movedAfterNotReadyMs: since(r.movedAt, notReadyAt) },
  };
}

/** `kubectl drain` of the announcer's node (the speaker, a DaemonSet Pod, stays; the node is cordoned): a planned hand-off. */
export async function drainAnnouncer(
  c: KubeletCluster,
  ip: string,
  client: ScenarioClient = 'ping',
): Promise<ScenarioResult> {
  const victim = await soleAnswerer(c, ip, 30_000);
  const drain = async (): Promise<void> => {
    const d = await c.cp.kubectl([
      'drain',
      victim,
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=120s',
    ]);
    if (d.code !== 0) throw new ScenarioError(`kubectl drain ${victim}: ${d.stderr}`);
  };
  const moved = await moveOff(c, ip, victim, client, drain, 60_000);
  const u = await c.cp.kubectl(['uncordon', victim]);
  if (u.code !== 0) throw new ScenarioError(`kubectl uncordon ${victim}: ${u.stderr}`);
  return { scenario: 'drain', ...moved };
}

/** `kubectl rollout restart ds/meshlb-speaker`: every speaker replaced, one node at a time. */
export async function rolloutRestartSpeakers(
  c: KubeletCluster,
  ip: string,
  client: ScenarioClient = 'ping',
): Promise<ScenarioResult> {
  const victim = await soleAnswerer(c, ip, 30_000);
  const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
  const list = async (): Promise<string[]> =>
    (
      await core.listNamespacedPod({
        namespace: MESHLB_NAMESPACE,
        labelSelector: 'app.kubernetes.io/component=speaker',
      })
    ).items.map((p) => p.metadata?.uid ?? '');
  const before = new Set(await list());
  const r = await observed(
    c,
    ip,
    victim,
    async () => {
      const d = await c.cp.kubectl(['-n', MESHLB_NAMESPACE, 'rollout', 'restart', `ds/${SPEAKER_DS}`]);
      if (d.code !== 0) throw new ScenarioError(`kubectl rollout restart: ${d.stderr}`);
    },
    async () => {
      const uids = await list();
      const s = await rolloutState(c);
      return (
        uids.length === c.nodes.length &&
        uids.every((u) => !before.has(u)) &&
        s?.speakersReady === c.nodes.length
      );
    },
    300_000,
    client,
  );
  const after = await soleAnswerer(c, ip, 10_000);
  return {
    scenario: 'rollout-restart',
    client,
    victim,
    after,
    ...r,
    times: { rolloutMs: Date.now() - r.faultAt },
  };
}

/**
 * `kubectl rollout restart` of a backend Deployment (kubelet/backends.ts):
 * with externalTrafficPolicy: Local the IP must leave each node whose Pod is
 * replaced while that Pod still serves. Ends when the rollout is complete.
 */
export async function rolloutRestartBackends(
  c: KubeletCluster,
  ip: string,
  deployment: string,
  client: ScenarioClient = 'tcp',
): Promise<ScenarioResult> {
  const victim = await soleAnswerer(c, ip, 30_000);
  const r = await observed(
    c,
    ip,
    victim,
    async () => {
      const d = await c.cp.kubectl(['-n', LAB_NAMESPACE, 'rollout', 'restart', `deployment/${deployment}`]);
      if (d.code !== 0) throw new ScenarioError(`kubectl rollout restart: ${d.stderr}`);
    },
    () => backendsRolledOut(c, deployment),
    180_000,
    client,
  );
  const after = await soleAnswerer(c, ip, 10_000);
  return {
    scenario: 'backend-rollout',
    client,
    victim,
    after,
    ...r,
    times: { rolloutMs: Date.now() - r.faultAt },
  };
}

export interface ControllerResult {
  /** The Lease holder before and after. */
  leaderBefore: string;
  leaderAfter: string;
  /** From the delete to a new holder of the Lease, ms. */
  takeoverMs: number;
  /** Services whose assigned addresses differ afterwards. */
  changedAssignments: number;
}

const LEASE = 'meshlb-controller';

/** The leading controller's Pod deleted: another leads, and no Service's addresses change. */
export async function deleteLeadingController(c: KubeletCluster): Promise<ControllerResult> {
  const coord = c.cp.kubeConfig.makeApiClient(CoordinationV1Api);
  const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
  const holder = async (): Promise<string> =>
    (await coord.readNamespacedLease({ namespace: MESHLB_NAMESPACE, name: LEASE })).spec?.holderIdentity ??
    '';
  const assignments = async (): Promise<Map<string, string>> =>
    new Map(
      (await core.listNamespacedService({ namespace: LAB_NAMESPACE })).items.map((s) => [
        s.metadata?.name ?? '',
        (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(','),
      ]),
    );
  const before = await assignments();
  const leaderBefore = await holder();
  const pods = (
    await core.listNamespacedPod({
      namespace: MESHLB_NAMESPACE,
      labelSelector: 'app.kubernetes.io/component=controller',
    })
  ).items;
  const leaderPod = pods.find((p) => leaderBefore.startsWith(p.metadata?.name ?? '\0'));
  if (leaderPod === undefined)
    throw new ScenarioError(`no controller Pod holds the Lease (holder "${leaderBefore}")`);
  const t0 = Date.now();
  const d = await c.cp.kubectl([
    '-n',
    MESHLB_NAMESPACE,
    'delete',
    'pod',
    leaderPod.metadata?.name ?? '',
    '--wait=false',
  ]);
  if (d.code !== 0) throw new ScenarioError(`kubectl delete pod: ${d.stderr}`);
  const leaderAfter = await poll(
    async () => {
      const h = await holder();
      return h !== '' && h !== leaderBefore ? h : undefined;
    },
    60_000,
    50,
  );
  if (leaderAfter === undefined) throw new ScenarioError('no new controller took the Lease within 60 s');
  const takeoverMs = Date.now() - t0;
  const apps = c.cp.kubeConfig.makeApiClient(AppsV1Api);
  await poll(
    async () => {
      const dep = await apps.readNamespacedDeployment({
        name: 'meshlb-controller',
        namespace: MESHLB_NAMESPACE,
      });
      return (dep.status?.availableReplicas ?? 0) === (dep.spec?.replicas ?? -1);
    },
    120_000,
    250,
  );
  const after = await assignments();
  const changedAssignments = [...before].filter(([name, ips]) => after.get(name) !== ips).length;
  return { leaderBefore, leaderAfter, takeoverMs, changedAssignments };
}
