// The speaker's ServiceAnnouncement writer against a real API server: creation with
// an ownerReference, two speakers sharing a dual-stack Service, a takeover, a
// withdrawal, the write budget under a burst, and Services deleted or re-created.
import pino from 'pino';
import anyTest, { type TestFn } from 'ava';
import { CoreV1Api, CustomObjectsApi, Watch, type V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import { GROUP, PLURALS, VERSION, type ServiceAnnouncement } from '../../src/kube/api/index.ts';
import {
  AnnouncementWriter,
  type AnnouncementEntry,
  type AnnouncementWriterInit,
  type ServiceRef,
} from '../../src/kube/announcements/index.ts';
import { installCrds, startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane; core: CoreV1Api; objects: CustomObjectsApi }>;

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  t.context.core = cp.kubeConfig.makeApiClient(CoreV1Api);
  t.context.objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await installCrds(cp);
});
test.after.always(async (t) => {
  await t.context.cp.stop();
});

type Ctx = { context: { cp: ControlPlane }; teardown: (fn: () => Promise<void>) => void };

function writer(t: Ctx, node: string, extra: Partial<AnnouncementWriterInit> = {}): AnnouncementWriter {
  const w = new AnnouncementWriter({
    kube: t.context.cp.kube,
    clock: systemClock,
    node,
    ...extra,
    ...(process.env.DEBUG_ANN === undefined
      ? {}
      : { log: pino({ level: 'trace' }, pino.destination({ dest: 2, sync: true })).child({ node }) }),
  });
  w.start();
  t.teardown(() => w.stop());
  return w;
}

// The writer never looks at the Service's families: a single-stack ClusterIP Service stands for any.
async function service(core: CoreV1Api, namespace: string, name: string): Promise<ServiceRef> {
  const s = await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: {
        type: 'ClusterIP',
        ports: [{ port: 80, protocol: 'TCP' }],
      },
    },
  });
  return { namespace, name, uid: s.metadata?.uid ?? '' };
}

async function read(objects: CustomObjectsApi, ref: ServiceRef): Promise<ServiceAnnouncement | undefined> {
  try {
    return (await objects.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.ServiceAnnouncement,
      namespace: ref.namespace,
      name: ref.name,
    })) as ServiceAnnouncement;
  } catch {
    return undefined;
  }
}

const entry = (
  ip: string,
  node: string,
  epoch = 1,
  since = '2026-11-25T10:00:00.000Z',
  interfaces = ['eth0'],
): AnnouncementEntry => ({
  ip,
  node,
  interfaces,
  epoch,
  since,
});

const summary = (o: ServiceAnnouncement | undefined) =>
  (o?.status?.announcements ?? []).map((a) => `${a.ip} ${a.node} ${a.epoch}`);

const managers = (fields: V1ManagedFieldsEntry[] | undefined) =>
  (fields ?? []).filter((f) => f.subresource === 'status').map((f) => f.manager ?? '');

test.serial('announcing creates the object, owned by the Service, with the right entry', async (t) => {
  const { cp, core, objects } = t.context;
  const ns = await cp.newNamespace('ann');
  const web = await service(core, ns, 'web');
  const w = writer(t, 'node-a');
  w.update([{ service: web, entries: [entry('198.51.100.7', 'node-a', 4)] }]);
  await w.idle();
  const o = await read(objects, web);
  t.truthy(o);
  t.deepEqual(o?.status?.announcements, [
    { ip: '198.51.100.7', node: 'node-a', interfaces: ['eth0'], epoch: 4, since: '2026-11-25T10:00:00.000Z' },
  ]);
  t.like(o?.metadata.ownerReferences?.[0], { apiVersion: 'v1', kind: 'Service', name: 'web', uid: web.uid });
  t.deepEqual(managers(o?.metadata.managedFields), ['meshlb-speaker-node-a']);
  t.like(w.stats, { creates: 1, applies: 1, deletes: 0 }, 'a first announcement is two writes');
  // Nothing changed: nothing written.
  w.update([{ service: web, entries: [entry('198.51.100.7', 'node-a', 4)] }]);
  await w.idle();
  t.is(w.stats.applies, 1);
});

test.serial(
  'two speakers share a dual-stack Service; a takeover changes the owner; a withdrawal removes only its own entry',
  async (t) => {
    const { cp, core, objects } = t.context;
    const ns = await cp.newNamespace('ann');
    const web = await service(core, ns, 'web');
    const a = writer(t, 'node-a');
    const b = writer(t, 'node-b');
    a.update([{ service: web, entries: [entry('198.51.100.7', 'node-a')] }]);
    b.update([{ service: web, entries: [entry('2001:db8::7', 'node-b')] }]);
    await Promise.all([a.idle(), b.idle()]);
    t.deepEqual(summary(await read(objects, web)).sort(), ['198.51.100.7 node-a 1', '2001:db8::7 node-b 1']);
    t.is(a.stats.failures + b.stats.failures, 0);

    // node-b takes the IPv4 address over (epoch + 1) before node-a has withdrawn.
    b.update([
      {
        service: web,
        entries: [
          entry('198.51.100.7', 'node-b', 2, '2026-11-25T11:00:00.000Z', ['eth1']),
          entry('2001:db8::7', 'node-b'),
        ],
      },
    ]);
    await b.idle();
    t.deepEqual(summary(await read(objects, web)).sort(), ['198.51.100.7 node-b 2', '2001:db8::7 node-b 1']);
    // The interfaces list is atomic: the new announcer's replaces the old one's.
    const v4 = (await read(objects, web))?.status?.announcements?.find((a) => a.ip === '198.51.100.7');
    t.deepEqual(v4?.interfaces, ['eth1']);
    t.is(b.stats.failures, 0, 'no conflict: the apply is forced over the entry');

    // node-a learns it lost the address and withdraws: node-b's entry stays.
    a.update([]);
    await a.idle();
    const after = await read(objects, web);
    t.deepEqual(summary(after).sort(), ['198.51.100.7 node-b 2', '2001:db8::7 node-b 1']);
    t.is(
      after?.status?.announcements?.find((e) => e.ip === '198.51.100.7')?.since,
      '2026-11-25T11:00:00.000Z',
    );

    // node-b withdraws its IPv6 address: only the IPv4 entry is left.
    b.update([{ service: web, entries: [entry('198.51.100.7', 'node-b', 2, '2026-11-25T11:00:00.000Z')] }]);
    await b.idle();
    t.deepEqual(summary(await read(objects, web)), ['198.51.100.7 node-b 2']);
    b.update([]);
    await b.idle();
    t.deepEqual(summary(await read(objects, web)), [], 'the object stays, empty, until its Service goes');
  },
);

test.serial('a burst of 200 changes is written within the budget, ending in the last value', async (t) => {
  const { cp, core, objects } = t.context;
  const ns = await cp.newNamespace('ann');
  const refs = await Promise.all(Array.from({ length: 10 }, (_, i) => service(core, ns, `s${i}`)));
  // Count what reaches the API server: every ADDED / MODIFIED event of the namespace.
  let events = 0;
  const watch = await new Watch(cp.kubeConfig).watch(
    `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURALS.ServiceAnnouncement}`,
    {},
    (type) => {
      if (type === 'ADDED' || type === 'MODIFIED') events++;
    },
    () => undefined,
  );
  t.teardown(() => {
    watch.abort();
  });
  const rate = { writesPerSecond: 10, burst: 10 };
  const w = writer(t, 'node-a', rate);
  const started = Date.now();
  // 20 rounds over 10 Services: 200 changes in about 400 ms.
  for (let round = 1; round <= 20; round++) {
    w.update(refs.map((service, i) => ({ service, entries: [entry(`198.51.100.${i}`, 'node-a', round)] })));
    await new Promise((r) => setTimeout(r, 20));
  }
  await w.idle();
  const seconds = (Date.now() - started) / 1000;
  const writes = w.stats.creates + w.stats.applies + w.stats.deletes;
  t.log(
    `${writes} writes (${w.stats.creates} creates) and ${events} watch events in ${seconds.toFixed(1)} s`,
  );
  // Each Service: create + status (2), then at most one write per second of the burst.
  // (a create is charged when it is done, so the writes in flight may overdraw by one each)
  t.true(writes <= rate.burst + rate.writesPerSecond * seconds + 4, `${writes} writes in ${seconds} s`);
  t.true(writes <= 10 * (2 + Math.ceil(seconds)));
  t.true(writes < 200 / 4, 'coalesced: far fewer writes than changes');
  await waitFor('the watch to catch up', () => events >= writes - 1, 5_000).catch(() => undefined);
  t.true(events <= writes, 'every write seen is one the writer counted');
  for (const [i, ref] of refs.entries())
    t.deepEqual(summary(await read(objects, ref)), [`198.51.100.${i} node-a 20`], ref.name);
});

test.serial(
  'a deleted Service is never re-created by a late write; a new Service of that name gets a new object',
  async (t) => {
    const { cp, core, objects } = t.context;
    const ns = await cp.newNamespace('ann');
    const old = await service(core, ns, 'web');
    const w = writer(t, 'node-a');
    w.update([{ service: old, entries: [entry('198.51.100.7', 'node-a')] }]);
    await w.idle();
    await core.deleteNamespacedService({ namespace: ns, name: 'web' });
    // No kube-controller-manager runs on the test control plane, so no garbage
    // collector: the ownerReference (checked above) is what lets a real cluster
    // delete the object. Delete it as the collector would.
    const before = await read(objects, old);
    t.like(before?.metadata.ownerReferences?.[0], { uid: old.uid });
    await objects.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.ServiceAnnouncement,
      namespace: ns,
      name: 'web',
    });
    // The speaker has not seen the deletion yet and writes a takeover for the old Service.
    w.update([{ service: old, entries: [entry('198.51.100.7', 'node-a', 2)] }]);
    await w.idle();
    t.is(await read(objects, old), undefined, 'nothing re-created');

    // A Service deleted and created again under the same name (new uid) while the old
    // object is still there (no collector): the old object is replaced, not written into.
    const api = await service(core, ns, 'api');
    w.update([{ service: api, entries: [entry('198.51.100.8', 'node-a')] }]);
    await w.idle();
    await core.deleteNamespacedService({ namespace: ns, name: 'api' });
    const reborn = await service(core, ns, 'api');
    const w2 = writer(t, 'node-b');
    w2.update([{ service: reborn, entries: [entry('198.51.100.8', 'node-b', 2)] }]);
    await w2.idle();
    const now = await read(objects, reborn);
    t.like(now?.metadata.ownerReferences?.[0], { uid: reborn.uid });
    t.deepEqual(
      summary(now),
      ['198.51.100.8 node-b 2'],
      "a new object: node-a's old entry went with the old one",
    );
    t.like(w2.stats, { deletes: 1, creates: 1 });
  },
);
