// The speaker's view of the cluster against a real API server: Node conditions,
// EndpointSlices, CRD edits, who wrote a Service's status, speaker identities on
// Pods, and a watch restarted after it failed.
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Endpoint,
} from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import type { World } from '../../src/election/index.ts';
import { GROUP, PLURALS, VERSION } from '../../src/kube/api/index.ts';
import {
  ClusterView,
  COMPONENT_LABEL,
  publishIdentity,
  SERVICE_NAME_LABEL,
  SPEAKER_COMPONENT,
} from '../../src/kube/world/index.ts';
import { installCrds, startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import { waitFor } from '../helpers/wait.ts';

interface Ctx {
  cp: ControlPlane;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  view: ClusterView;
  /** The namespace of the speaker Pods. */
  system: string;
  /** The World as the latest onChange built it. */
  latest: () => World | undefined;
  changes: () => number;
}

const test = anyTest as TestFn<Ctx>;
const L2ADV_CRD = fileURLToPath(
  new URL('../../deploy/crds/l2advertisements.meshlb.io.yaml', import.meta.url),
);
/** How long a change may take to reach the World: a watch event, one coalesced rebuild. */
const PROMPT_MS = 3_000;
const NODES = ['w1', 'w2', 'w3'];
const SSA = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function kubectl(cp: ControlPlane, args: string[]): Promise<void> {
  const out = await cp.kubectl(args);
  if (out.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${out.stderr}`);
}

async function setReady(core: CoreV1Api, name: string, status: 'True' | 'False'): Promise<void> {
  const now = new Date();
  await core.replaceNodeStatus({
    name,
    body: {
      metadata: { name },
      status: {
        conditions: [
          { type: 'Ready', status, reason: 'Test', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
      },
    },
  });
}

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  t.context.core = core;
  t.context.custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await installCrds(cp);
  for (const name of NODES) {
    await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } } } });
    await setReady(core, name, 'True');
  }
  await t.context.custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS.IPPool,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'IPPool',
      metadata: { name: 'world-a', labels: { zone: 'a' } },
      spec: { addresses: ['198.51.100.0/28'] },
    },
  });
  t.context.system = await cp.newNamespace('meshlb');
  let latest: World | undefined;
  let changes = 0;
  const view: ClusterView = new ClusterView({
    kube: cp.kube,
    clock: systemClock,
    namespace: t.context.system,
    initialBackoffMs: 100,
    maxBackoffMs: 400,
    onChange: () => {
      changes++;
      latest = view.snapshot(new Map(), new Map());
    },
  });
  t.context.view = view;
  t.context.latest = () => latest;
  t.context.changes = () => changes;
  await view.start();
  await waitFor('the initial lists', () => view.synced && latest !== undefined, PROMPT_MS);
});

test.after.always(async (t) => {
  await t.context.view.stop();
  await t.context.cp.stop();
});

/** Waits until the World onChange built last satisfies `check`. */
async function seen<T>(
  t: { context: Ctx },
  what: string,
  check: (w: World) => T | undefined | false,
): Promise<T> {
  return waitFor(
    what,
    () => {
      const w = t.context.latest();
      return w === undefined ? undefined : check(w);
    },
    PROMPT_MS,
  );
}

test.serial('the initial lists: every Node, the pool, no advertisement, no IP', (t) => {
  const w = t.context.latest();
  t.deepEqual([...(w?.nodes.keys() ?? [])], NODES);
  t.is(w?.nodes.get('w1')?.ready, 'True');
  t.deepEqual(w?.ips, []);
  t.true(t.context.changes() >= 1);
});

test.serial(
  'Node changes reach the World promptly: NotReady, an unreachable taint, cordon, the exclude label',
  async (t) => {
    const { core } = t.context;
    await setReady(core, 'w1', 'False');
    await seen(t, 'w1 NotReady', (w) => w.nodes.get('w1')?.ready === 'False');
    await setReady(core, 'w1', 'True');
    await seen(t, 'w1 Ready again', (w) => w.nodes.get('w1')?.ready === 'True');

    await core.patchNode(
      {
        name: 'w2',
        body: { spec: { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] } },
      },
      MERGE,
    );
    await seen(t, 'the unreachable taint on w2', (w) =>
      w.nodes.get('w2')?.taints.includes('node.kubernetes.io/unreachable'),
    );

    await core.patchNode({ name: 'w3', body: { spec: { unschedulable: true } } }, MERGE);
    await seen(t, 'w3 cordoned', (w) => w.nodes.get('w3')?.unschedulable);

    const exclude = 'node.kubernetes.io/exclude-from-external-load-balancers';
    await core.patchNode({ name: 'w3', body: { metadata: { labels: { [exclude]: '' } } } }, MERGE);
    await seen(t, 'the exclude label on w3', (w) => Object.hasOwn(w.nodes.get('w3')?.labels ?? {}, exclude));

    await core.deleteNode({ name: 'w3' });
    await seen(t, 'w3 gone', (w) => !w.nodes.has('w3'));
    t.deepEqual([...(t.context.latest()?.nodes.keys() ?? [])], ['w1', 'w2']);
  },
);

/** A LoadBalancer Service whose status `manager` writes (server-side apply for the controller). */
async function lbService(
  t: { context: Ctx },
  namespace: string,
  name: string,
  ips: string[],
  opts: { local?: boolean; manager?: string } = {},
): Promise<void> {
  const { core } = t.context;
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: opts.local === true ? 'Local' : 'Cluster',
        ports: [{ port: 80, protocol: 'TCP' }],
      },
    },
  });
  const manager = opts.manager ?? 'meshlb-controller';
  const status = { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } };
  if (manager === 'meshlb-controller') {
    await core.patchNamespacedServiceStatus(
      {
        name,
        namespace,
        body: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, status },
        fieldManager: manager,
        force: true,
      },
      SSA,
    );
  } else {
    await core.patchNamespacedServiceStatus(
      { name, namespace, body: { status }, fieldManager: manager },
      MERGE,
    );
  }
}

test.serial("a status written by another field manager is not announced; the controller's is", async (t) => {
  const ns = await t.context.cp.newNamespace('world');
  await lbService(t, ns, 'rivals', ['198.51.100.2'], { manager: 'rival-controller' });
  await lbService(t, ns, 'ours', ['198.51.100.1']);
  await seen(t, "the controller's IP", (w) => w.ips.some((i) => i.ip === '198.51.100.1'));
  t.deepEqual(t.context.latest()?.ips, [{ ip: '198.51.100.1', pool: 'world-a' }]);
  const { unannounced } = t.context.view.analyse(new Map(), new Map());
  t.deepEqual(unannounced, [{ service: `${ns}/rivals`, ip: '198.51.100.2', reason: 'StatusNotOwned' }]);
});

test.serial('EndpointSlice readiness moves the local endpoint nodes of a Local Service', async (t) => {
  const ns = await t.context.cp.newNamespace('world');
  const discovery = t.context.cp.kubeConfig.makeApiClient(DiscoveryV1Api);
  await lbService(t, ns, 'local', ['198.51.100.3'], { local: true });
  const nodesOf = (w: World) => w.ips.find((i) => i.ip === '198.51.100.3')?.localEndpointNodes;
  const none = await seen(t, 'the Local IP', nodesOf);
  t.deepEqual([...none], []); // no EndpointSlice yet: nowhere

  const ep = (nodeName: string, conditions: NonNullable<V1Endpoint['conditions']>): V1Endpoint => ({
    addresses: ['10.244.0.1'],
    nodeName,
    conditions,
  });
  const body = (endpoints: V1Endpoint[]) => ({
    metadata: { name: 'local-abc', namespace: ns, labels: { [SERVICE_NAME_LABEL]: 'local' } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ port: 8080, protocol: 'TCP' }],
  });
  await discovery.createNamespacedEndpointSlice({
    namespace: ns,
    body: body([ep('w1', { ready: true }), ep('w2', { ready: false })]),
  });
  await seen(t, 'w1 only', (w) => [...(nodesOf(w) ?? [])].join() === 'w1');
  await discovery.replaceNamespacedEndpointSlice({
    name: 'local-abc',
    namespace: ns,
    body: body([ep('w1', { ready: true }), ep('w2', { ready: true })]),
  });
  await seen(t, 'w1 and w2', (w) => [...(nodesOf(w) ?? [])].join() === 'w1,w2');
  await discovery.replaceNamespacedEndpointSlice({
    name: 'local-abc',
    namespace: ns,
    body: body([ep('w1', { ready: true }), ep('w2', { ready: false, serving: true, terminating: true })]),
  });
  await seen(t, 'w1 only (w2 terminates while w1 is ready)', (w) => [...(nodesOf(w) ?? [])].join() === 'w1');
  await discovery.replaceNamespacedEndpointSlice({
    name: 'local-abc',
    namespace: ns,
    body: body([
      ep('w1', { ready: false, serving: false, terminating: true }),
      ep('w2', { ready: false, serving: true, terminating: true }),
    ]),
  });
  await seen(t, 'w2 only (terminating but serving)', (w) => [...(nodesOf(w) ?? [])].join() === 'w2');
  t.pass();
});

test.serial(
  'IPPool addresses and L2Advertisement selectors and interfaces: edits reach the World',
  async (t) => {
    const { custom } = t.context;
    const ns = await t.context.cp.newNamespace('world');
    await lbService(t, ns, 'edge', ['198.51.100.20']);
    // Outside world-a (/28): not announced until the pool grows.
    await seen(t, 'the Service seen', () =>
      t.context.view
        .analyse(new Map(), new Map())
        .unannounced.some((u) => u.ip === '198.51.100.20' && u.reason === 'NotInPool'),
    );
    await custom.patchClusterCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURALS.IPPool,
        name: 'world-a',
        body: { spec: { addresses: ['198.51.100.0/28', '198.51.100.16/28'] } },
      },
      MERGE,
    );
    await seen(
      t,
      '198.51.100.20 in world-a',
      (w) => w.ips.find((i) => i.ip === '198.51.100.20')?.pool === 'world-a',
    );

    await custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.L2Advertisement,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'L2Advertisement',
        metadata: { name: 'edge' },
        spec: { ipPoolSelectors: [{ matchLabels: { zone: 'a' } }] },
      },
    });
    const adv = await seen(t, 'the advertisement', (w) => w.advertisements.find((a) => a.name === 'edge'));
    t.deepEqual(adv, {
      name: 'edge',
      pools: ['world-a'],
      nodeSelectors: [],
      interfaces: [],
      cordon: 'keep',
      failback: false,
    });
    await custom.patchClusterCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURALS.L2Advertisement,
        name: 'edge',
        body: {
          spec: {
            nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'w1' } }],
            interfaces: ['eth1'],
            cordonPolicy: 'HandOff',
          },
        },
      },
      MERGE,
    );
    const edited = await seen(t, 'the edited advertisement', (w) =>
      w.advertisements.find((a) => a.name === 'edge' && a.interfaces.length > 0),
    );
    t.deepEqual(edited.nodeSelectors, [{ matchLabels: { 'kubernetes.io/hostname': 'w1' } }]);
    t.deepEqual(edited.interfaces, ['eth1']);
    t.is(edited.cordon, 'hand-off');
    // A pool's labels decide which advertisements select it.
    await custom.patchClusterCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURALS.IPPool,
        name: 'world-a',
        body: { metadata: { labels: { zone: 'b' } } },
      },
      MERGE,
    );
    await seen(
      t,
      'the pool no longer selected',
      (w) => w.advertisements.find((a) => a.name === 'edge')?.pools.length === 0,
    );
  },
);

test.serial(
  'speaker identity: publishIdentity on the Pod, then the authority accepts that peer for that node only',
  async (t) => {
    const { core, cp, system, view } = t.context;
    // No controller-manager runs here: create the ServiceAccount Pods default to.
    try {
      await core.createNamespacedServiceAccount({
        namespace: system,
        body: { metadata: { name: 'default' } },
      });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw err;
    }
    const pod = (name: string, nodeName: string) => ({
      namespace: system,
      body: {
        metadata: { name, labels: { [COMPONENT_LABEL]: SPEAKER_COMPONENT } },
        spec: { nodeName, containers: [{ name: 'speaker', image: 'meshlb:test' }] },
      },
    });
    await core.createNamespacedPod(pod('speaker-w1', 'w1'));
    await core.createNamespacedPod(pod('speaker-w2', 'w2'));
    t.false(view.authority.maySpeakFor('peer-w1', 'w1')); // nothing published yet

    const addrs = ['/ip4/192.0.2.1/tcp/7946', '/ip6/2001:db8::1/tcp/7946'];
    await publishIdentity(cp.kube, system, 'speaker-w1', { peerId: 'peer-w1', addrs });
    await publishIdentity(cp.kube, system, 'speaker-w2', {
      peerId: 'peer-w2',
      addrs: ['/ip4/192.0.2.2/tcp/7946'],
    });
    await waitFor(
      'both identities',
      () => view.authority.maySpeakFor('peer-w2', 'w2') && view.authority.maySpeakFor('peer-w1', 'w1'),
      PROMPT_MS,
    );
    t.false(view.authority.maySpeakFor('peer-w1', 'w2'), 'a peer claiming another node');
    t.false(view.authority.maySpeakFor('peer-w2', 'w1'));
    t.false(view.authority.maySpeakFor('peer-w1', 'w3'));
    t.deepEqual(view.peers('w2'), [{ peerId: 'peer-w1', addrs }]);
    t.deepEqual(view.peers('w1'), [{ peerId: 'peer-w2', addrs: ['/ip4/192.0.2.2/tcp/7946'] }]);

    // A restarted speaker publishes a new peer ID: the old one loses the node.
    await publishIdentity(cp.kube, system, 'speaker-w1', { peerId: 'peer-w1b', addrs });
    await waitFor('the new peer ID', () => view.authority.maySpeakFor('peer-w1b', 'w1'), PROMPT_MS);
    t.false(view.authority.maySpeakFor('peer-w1', 'w1'));
    const labels = (await core.readNamespacedPod({ namespace: system, name: 'speaker-w1' })).metadata?.labels;
    t.deepEqual(
      labels,
      { [COMPONENT_LABEL]: SPEAKER_COMPONENT },
      'the merge patch touched only the annotations',
    );
  },
);

test.serial(
  'a watch that fails is restarted: the L2Advertisement CRD deleted and installed again',
  async (t) => {
    const { cp, custom, view } = t.context;
    const restarts = view.restarts;
    await kubectl(cp, ['delete', '-f', L2ADV_CRD, '--wait=true']);
    await seen(t, 'the advertisements gone', (w) => w.advertisements.length === 0);
    await waitFor('a restart of the failed watch', () => view.restarts > restarts, 10_000);
    await kubectl(cp, ['apply', '--server-side', '-f', L2ADV_CRD]);
    await kubectl(cp, ['wait', '--for=condition=Established', '--timeout=30s', '-f', L2ADV_CRD]);
    await waitFor(
      'the advertisement created after the CRD came back',
      async () => {
        try {
          await custom.createClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURALS.L2Advertisement,
            body: {
              apiVersion: `${GROUP}/${VERSION}`,
              kind: 'L2Advertisement',
              metadata: { name: 'again' },
              spec: { ipPools: ['world-a'] },
            },
          });
          return true;
        } catch (err) {
          if (err instanceof ApiException && err.code === 409) return true;
          return false; // the new CRD is not served yet
        }
      },
      10_000,
    );
    const again = await seen(t, 'the new advertisement', (w) =>
      w.advertisements.find((a) => a.name === 'again'),
    );
    t.deepEqual(again.pools, ['world-a']);
    t.true(view.synced);
  },
);
