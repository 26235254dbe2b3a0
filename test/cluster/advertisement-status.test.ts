// L2Advertisement status against a real API server: the leading controller
// says which nodes an advertisement selects and whether the interfaces it
// names are answered on, with observedGeneration, and follows every change.
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import { Controller } from '../../src/controller/index.ts';
import { GROUP, PLURALS, VERSION, type Condition, type L2Advertisement } from '../../src/kube/api/index.ts';
import { publishIdentity } from '../../src/kube/world/index.ts';
import {
  createL2Advertisement,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';
import { createSpeakerPod, SPEAKER_NAMESPACE } from '../../lab/testbed/speakers/kube-speakers.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane; controller: Controller }>;

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  await installCrds(cp);
  // The namespace and the ServiceAccounts the speaker Pods name (test/cluster/controller-process.test.ts
  // runs the controller under its own RBAC, watching these too).
  for (const file of ['deploy/rbac/controller.yaml', 'deploy/rbac/speaker.yaml']) {
    const r = await cp.kubectl([
      'apply',
      '--server-side',
      '-f',
      fileURLToPath(new URL(`../../${file}`, import.meta.url)),
    ]);
    if (r.code !== 0) throw new Error(`kubectl apply ${file}: ${r.stderr}`);
  }
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  for (const [node, zone] of [
    ['n1', 'a'],
    ['n2', 'a'],
    ['n3', 'b'],
  ] as const) {
    await core.createNode({ body: { metadata: { name: node, labels: { zone } } } });
    // n3 runs no speaker.
    if (node === 'n3') continue;
    const pod = await createSpeakerPod(cp.kubeConfig, node);
    await publishIdentity(cp.kube, SPEAKER_NAMESPACE, pod, {
      peerId: `peer-${node}`,
      addrs: [],
      macs: [],
      interfaces: node === 'n1' ? ['eth0', 'eth1'] : ['eth0'],
    });
  }
  const controller = new Controller({
    kube: cp.kube,
    clock: systemClock,
    identity: 'c1',
    namespace: SPEAKER_NAMESPACE,
    leader: { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 },
  });
  t.context.controller = controller;
  await controller.start();
  await waitFor('the controller to lead', () => controller.ready, 10_000);
});
test.after.always(async (t) => {
  const { controller, cp } = t.context as Partial<{ cp: ControlPlane; controller: Controller }>;
  await controller?.stop();
  await cp?.stop();
});

async function read(cp: ControlPlane, name: string): Promise<L2Advertisement> {
  return (await cp.kubeConfig.makeApiClient(CustomObjectsApi).getClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS.L2Advertisement,
    name,
  })) as L2Advertisement;
}

/** Waits until the advertisement's conditions (type → status reason) are these, for its current generation. */
async function conditionsOf(
  cp: ControlPlane,
  name: string,
  want: Record<string, string>,
): Promise<{ adv: L2Advertisement; byType: Map<string, Condition> }> {
  let last = '';
  return waitFor(
    `${name}'s status ${JSON.stringify(want)}`,
    async () => {
      const adv = await read(cp, name);
      const byType = new Map((adv.status?.conditions ?? []).map((c) => [c.type, c]));
      last = JSON.stringify(adv.status);
      const ok =
        Object.entries(want).every(
          ([type, v]) => `${byType.get(type)?.status} ${byType.get(type)?.reason}` === v,
        ) && [...byType.values()].every((c) => c.observedGeneration === adv.metadata.generation);
      return ok ? { adv, byType } : undefined;
    },
    15_000,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last status: ${last}`);
  });
}

async function patchSpec(cp: ControlPlane, name: string, spec: object): Promise<void> {
  await cp.kubeConfig
    .makeApiClient(CustomObjectsApi)
    .patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: PLURALS.L2Advertisement, name, body: { spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

test.serial(
  'a selector that matches no node, then one node with no speaker, then one with a speaker',
  async (t) => {
    const { cp } = t.context;
    await createL2Advertisement(cp, 'nowhere', {
      ipPools: ['p'],
      nodeSelectors: [{ matchLabels: { zone: 'c' } }],
    });
    const none = await conditionsOf(cp, 'nowhere', {
      NodesSelected: 'False NoNodeMatches',
      Ready: 'False NoNodeMatches',
    });
    t.is(none.adv.status?.matchedNodes, 0);
    t.regex(none.byType.get('NodesSelected')?.message ?? '', /select no node/);

    await patchSpec(cp, 'nowhere', { nodeSelectors: [{ matchLabels: { zone: 'b' } }] });
    const b = await conditionsOf(cp, 'nowhere', { NodesSelected: 'False NoSpeakerOnSelectedNodes' });
    t.is(b.adv.status?.matchedNodes, 1);
    t.regex(b.byType.get('NodesSelected')?.message ?? '', /n3/);

    await patchSpec(cp, 'nowhere', { nodeSelectors: [{ matchLabels: { zone: 'a' } }] });
    const a = await conditionsOf(cp, 'nowhere', {
      NodesSelected: 'True NodesMatch',
      InterfacesFound: 'True EveryInterface',
      Ready: 'True Answerable',
    });
    t.is(a.adv.status?.matchedNodes, 2);
    t.is(a.adv.metadata.generation, 3, 'the conditions follow the latest generation');
  },
);

test.serial(
  'an interface no selected speaker answers on is named; fixed, the condition clears',
  async (t) => {
    const { cp } = t.context;
    await createL2Advertisement(cp, 'typo', { ipPools: ['p'], interfaces: ['eth0', 'eht1'] });
    const bad = await conditionsOf(cp, 'typo', {
      NodesSelected: 'True NodesMatch',
      InterfacesFound: 'False InterfacesMissing',
      Ready: 'False InterfacesMissing',
    });
    t.regex(bad.byType.get('InterfacesFound')?.message ?? '', /answers on eht1 /);
    t.is(bad.adv.status?.matchedNodes, 3);
    const since = bad.byType.get('NodesSelected')?.lastTransitionTime;

    await patchSpec(cp, 'typo', { interfaces: ['eth0', 'eth1'] });
    const good = await conditionsOf(cp, 'typo', {
      InterfacesFound: 'True AllInterfacesFound',
      Ready: 'True Answerable',
    });
    t.is(
      good.byType.get('NodesSelected')?.lastTransitionTime,
      since,
      'an unchanged condition keeps its time',
    );

    // eth1 is on n1 only: limited to n2, it is missing again.
    await patchSpec(cp, 'typo', { nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'n2' } }] });
    await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .patchNode(
        { name: 'n2', body: { metadata: { labels: { zone: 'a', 'kubernetes.io/hostname': 'n2' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    const again = await conditionsOf(cp, 'typo', { InterfacesFound: 'False InterfacesMissing' });
    t.regex(again.byType.get('InterfacesFound')?.message ?? '', /answers on eth1 /);
    t.is(again.adv.status?.matchedNodes, 1);
  },
);

test.serial('the controller writes a status only when it changes', async (t) => {
  const { cp, controller } = t.context;
  await createL2Advertisement(cp, 'quiet', { ipPools: ['p'] });
  await conditionsOf(cp, 'quiet', { Ready: 'True Answerable' });
  const writes = (): number => {
    const w = controller.stats().apiWrites['l2advertisements/status'];
    return w.ok + w.error;
  };
  const before = writes();
  // Node heartbeats (a status update, no label change) and a Pod update that changes nothing.
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  for (let i = 0; i < 3; i++)
    await core.patchNodeStatus(
      {
        name: 'n1',
        body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: `Beat${i}` }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  // A change that moves one status (only 'quiet' selects every node) writes that one, once.
  await core.createNode({ body: { metadata: { name: 'n4', labels: { zone: 'd' } } } });
  await waitFor('quiet counts n4', async () => (await read(cp, 'quiet')).status?.matchedNodes === 4, 10_000);
  await waitFor('the write counted', () => writes() > before, 5_000);
  t.is(writes(), before + 1, 'three heartbeats and a new node: one write');
});
