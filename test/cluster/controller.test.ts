// The controller against a real API server: allocation, class filtering,
// conflicts (one Event, no write loop), the patch war, restart safety and
// leader failover.
import anyTest, { type TestFn } from 'ava';
import pino from 'pino';
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type V1Service } from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import { Controller } from '../../src/controller/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool } from '../../src/kube/api/index.ts';
import { KubeClient, type KubeList, type Query } from '../../src/kube/client/index.ts';
import {
  createIpPool,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane; core: CoreV1Api; controllers: Controller[] }>;
/** Quick leader election for tests; the defaults are client-go's (15 s / 10 s / 2 s). */
const LEADER = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };
/** How long the rival controller fights (the figure). */
const WAR_SECONDS = Number(process.env.MESHLB_PATCH_WAR_SECONDS ?? 60);

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  t.context.core = cp.kubeConfig.makeApiClient(CoreV1Api);
  t.context.controllers = [];
  await installCrds(cp);
});
test.after.always(async (t) => {
  for (const c of t.context.controllers) await c.stop();
  await t.context.cp.stop();
});

/** DEBUG_CTL=1 (or trace): the controllers' logs (decisions, writes, releases) on stderr. */
function debugLog(identity: string) {
  const level = process.env.DEBUG_CTL === 'trace' ? 'trace' : 'debug';
  return process.env.DEBUG_CTL === undefined
    ? {}
    : { log: pino({ level }, pino.destination(2)).child({ identity }) };
}

type Ctx = {
  context: { cp: ControlPlane; controllers: Controller[] };
  teardown: (fn: () => Promise<void>) => void;
};

async function controller(
  t: Ctx,
  identity: string,
  namespace: string,
  oscillation = {},
): Promise<Controller> {
  const c = new Controller({
    kube: t.context.cp.kube,
    clock: systemClock,
    identity,
    namespace,
    leader: LEADER,
    oscillation,
    ...debugLog(identity),
  });
  t.context.controllers.push(c);
  // Pools and Services are seen cluster-wide: one running controller per test.
  t.teardown(() => c.stop());
  await c.start();
  await waitFor(`${identity} to lead`, () => c.ready, 10_000);
  return c;
}

/** A pool serving only `namespace`, so the tests of this file stay apart. */
async function pool(cp: ControlPlane, name: string, namespace: string, addresses: string[], extra = {}) {
  await createIpPool(cp, name, { addresses, serviceAllocation: { namespaces: [namespace] }, ...extra });
}

function lbService(
  namespace: string,
  name: string,
  extra: Partial<V1Service['spec']> = {},
  annotations = {},
) {
  return {
    namespace,
    body: {
      metadata: { name, annotations },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...extra },
    },
  };
}

const ips = (s: V1Service | undefined): string[] =>
  (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');

async function statusOf(core: CoreV1Api, namespace: string, name: string): Promise<V1Service> {
  return core.readNamespacedServiceStatus({ namespace, name });
}

async function events(cp: ControlPlane, namespace: string, reason: string): Promise<number> {
  const list = await cp.kubeConfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.reason === reason).length;
}

test.serial(
  'assigns an IP from the pool, with ipMode VIP and an Event; another class is never touched',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-a', ns, ['198.51.100.0/29']);
    await controller(t, 'ctl-1', ns);
    await core.createNamespacedService(lbService(ns, 'web'));
    await core.createNamespacedService(lbService(ns, 'other', { loadBalancerClass: 'example.com/other' }));
    const web = await waitFor('an IP for web', async () => {
      const s = await statusOf(core, ns, 'web');
      return ips(s).length > 0 ? s : undefined;
    });
    t.deepEqual(ips(web), ['198.51.100.0']);
    t.is(web.status?.loadBalancer?.ingress?.[0]?.ipMode, 'VIP');
    t.true(
      web.metadata?.managedFields?.some(
        (m) => m.manager === 'meshlb-controller' && m.subresource === 'status',
      ),
    );
    await waitFor('the IPAllocated Event', async () => (await events(cp, ns, 'IPAllocated')) >= 1);
    // The other class: written by nobody. Checked after a Service created later was served.
    await core.createNamespacedService(lbService(ns, 'later'));
    await waitFor('an IP for later', async () => ips(await statusOf(core, ns, 'later')).length > 0);
    t.deepEqual(ips(await statusOf(core, ns, 'other')), []);
  },
);

test.serial(
  'meshlb.io/address-count: 3 addresses in the status; too many for the pool: PoolExhausted, the Event says why',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-count', ns, ['198.51.100.8/30']);
    await controller(t, 'ctl-count-1', ns);
    await core.createNamespacedService(lbService(ns, 'three', {}, { 'meshlb.io/address-count': '3' }));
    const three = await waitFor('3 IPs for three', async () => {
      const s = await statusOf(core, ns, 'three');
      return ips(s).length > 0 ? s : undefined;
    });
    t.deepEqual(ips(three), ['198.51.100.8', '198.51.100.9', '198.51.100.10']);
    await core.createNamespacedService(lbService(ns, 'two', {}, { 'meshlb.io/address-count': '2' }));
    await waitFor('the PoolExhausted Event', async () => (await events(cp, ns, 'PoolExhausted')) >= 1);
    const list = await cp.kubeConfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    t.regex(
      list.items.find((e) => e.reason === 'PoolExhausted')?.note ?? '',
      /address-count is 2: fewer than 2 free IPv4 addresses/,
    );
    t.deepEqual(ips(await statusOf(core, ns, 'two')), [], 'all or nothing: no status written');
  },
);

test.serial("a deleted Service's write count goes with it (stats stay bounded under churn)", async (t) => {
  const { cp, core } = t.context;
  const ns = await cp.newNamespace('ctl');
  await pool(cp, 'ctl-h', ns, ['198.51.100.48/29']);
  const c = await controller(t, 'ctl-churn', ns);
  for (const name of ['a', 'b', 'c']) await core.createNamespacedService(lbService(ns, name));
  await waitFor('three written', () =>
    ['a', 'b', 'c'].every((n) => (c.stats().writes.get(`${ns}/${n}`) ?? 0) > 0),
  );
  for (const name of ['a', 'b']) await core.deleteNamespacedService({ namespace: ns, name });
  await waitFor(
    'the deleted ones forgotten',
    () => !c.stats().writes.has(`${ns}/a`) && !c.stats().writes.has(`${ns}/b`),
  );
  t.true((c.stats().writes.get(`${ns}/c`) ?? 0) > 0, 'the live one is still counted');
});

test.serial('a requested IP outside every pool: one Event, no status write', async (t) => {
  const { cp, core } = t.context;
  const ns = await cp.newNamespace('ctl');
  await pool(cp, 'ctl-b', ns, ['198.51.100.16/29']);
  const c = await controller(t, 'ctl-2', ns);
  await core.createNamespacedService(
    lbService(ns, 'asks', {}, { 'meshlb.io/loadBalancerIPs': '203.0.113.50' }),
  );
  await waitFor(
    'the RequestedIPOutsidePools Event',
    async () => (await events(cp, ns, 'RequestedIPOutsidePools')) >= 1,
  );
  // Touch the Service a few times: still one Event, still no write.
  for (let i = 0; i < 3; i++)
    await core.patchNamespacedService({
      namespace: ns,
      name: 'asks',
      body: [{ op: 'add', path: `/metadata/labels`, value: { touch: String(i) } }],
    });
  await core.createNamespacedService(lbService(ns, 'marker'));
  await waitFor('a later Service served', async () => ips(await statusOf(core, ns, 'marker')).length > 0);
  t.is(await events(cp, ns, 'RequestedIPOutsidePools'), 1);
  t.deepEqual(ips(await statusOf(core, ns, 'asks')), []);
  t.is(c.stats().writes.get(`${ns}/asks`) ?? 0, 0);
});

test.serial(
  `patch war: a rival rewriting the status for ${WAR_SECONDS} s gets at most 5 writes from meshlb, a condition and an Event; meshlb resumes after`,
  async (t) => {
    t.timeout((WAR_SECONDS + 60) * 1000);
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-c', ns, ['198.51.100.32/29']);
    const c = await controller(t, 'ctl-3', ns, { initialBackoffMs: 5_000 });
    await core.createNamespacedService(lbService(ns, 'contested'));
    await waitFor('an IP', async () => ips(await statusOf(core, ns, 'contested')).length > 0);
    const key = `${ns}/contested`;
    // The rival: another controller that writes its own status, and clears it, every 250 ms.
    const end = Date.now() + WAR_SECONDS * 1000;
    let rivalWrites = 0;
    for (let i = 0; Date.now() < end; i++) {
      const svc = await statusOf(core, ns, 'contested');
      svc.status ??= {};
      svc.status.loadBalancer = { ingress: i % 2 === 0 ? [{ ip: '203.0.113.9' }] : [] };
      try {
        await core.replaceNamespacedServiceStatus({
          namespace: ns,
          name: 'contested',
          body: svc,
          fieldManager: 'rival',
        });
        rivalWrites++;
      } catch {
        // a conflict with a concurrent write: the rival just tries again
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const writes = c.stats().writes.get(key) ?? 0;
    t.log(`rival wrote ${rivalWrites} times; meshlb wrote ${writes} times`);
    t.true(rivalWrites > WAR_SECONDS * 2, 'the rival kept writing');
    t.true(writes <= 5, `${writes} writes`);
    t.true((await events(cp, ns, 'PatchWarDetected')) >= 1);
    const paused = (await statusOf(core, ns, 'contested')).status?.conditions?.find(
      (x) => x.type === 'meshlb.io/WritesPaused',
    );
    t.is(paused?.status, 'True');
    // The rival stopped (its last write left the status empty or its own): meshlb takes an empty status back.
    const svc = await statusOf(core, ns, 'contested');
    svc.status = { loadBalancer: { ingress: [] } };
    await core.replaceNamespacedServiceStatus({
      namespace: ns,
      name: 'contested',
      body: svc,
      fieldManager: 'rival',
    });
    await waitFor(
      'meshlb to resume',
      async () => ips(await statusOf(core, ns, 'contested'))[0] === '198.51.100.32',
      40_000,
      200,
    );
    t.pass();
  },
);

test.serial(
  'two Services asked for one IP while no controller ran: on start the older gets it',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-older', ns, ['198.51.100.104/29']);
    const asks = { 'meshlb.io/loadBalancerIPs': '198.51.100.105' };
    // The older sorts last by name: the API server lists (and the informer delivers) by name.
    const older = await core.createNamespacedService(lbService(ns, 'z-older', {}, asks));
    const createdSecond = Math.floor(Date.parse(String(older.metadata?.creationTimestamp)) / 1000);
    // creationTimestamp has whole seconds: the younger must be visibly younger.
    await waitFor('the next second', () => Math.floor(Date.now() / 1000) > createdSecond, 3_000, 20);
    await core.createNamespacedService(lbService(ns, 'a-younger', {}, asks));
    await controller(t, 'ctl-11', ns);
    await waitFor('the older assigned', async () => ips(await statusOf(core, ns, 'z-older')).length > 0);
    t.deepEqual(ips(await statusOf(core, ns, 'z-older')), ['198.51.100.105']);
    await waitFor('the younger told why not', async () => (await events(cp, ns, 'RequestedIPInUse')) >= 1);
    t.deepEqual(ips(await statusOf(core, ns, 'a-younger')), []);
  },
);

test.serial(
  'a rival that keeps an outside-pool request: writes pause, and the condition is gone within 10 s of the rival stopping',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-rival', ns, ['198.51.100.120/29']);
    const c = await controller(t, 'ctl-12', ns); // the default pause (OSCILLATION_DEFAULTS)
    await core.createNamespacedService(lbService(ns, 'asked'));
    await waitFor('an IP', async () => ips(await statusOf(core, ns, 'asked')).length > 0);
    const paused = async (): Promise<boolean> =>
      ((await statusOf(core, ns, 'asked')).status?.conditions ?? []).some(
        (x) => x.type === 'meshlb.io/WritesPaused' && x.status === 'True',
      );
    // The rival: another tool that keeps asking for addresses in no pool.
    for (let i = 0; !(await paused()); i++) {
      t.true(i < 40, 'the war was detected');
      await core.patchNamespacedService({
        namespace: ns,
        name: 'asked',
        body: [{ op: 'replace', path: '/spec/loadBalancerIP', value: `203.0.113.${10 + (i % 2)}` }],
      });
      await new Promise((r) => setTimeout(r, 100));
    }
    const stopped = Date.now();
    await waitFor('the condition cleared', async () => !(await paused()), 10_000, 100);
    t.log(`condition cleared ${Date.now() - stopped} ms after the rival stopped`);
    t.true(
      (await events(cp, ns, 'RequestedIPOutsidePools')) >= 1,
      'the request is still refused, with an Event',
    );
    const writes = c.stats().writes.get(`${ns}/asked`) ?? 0;
    t.true(writes <= 4, `${writes} writes: the IP, the condition, its clearing`);
  },
);

test.serial(
  'a new leader whose list of Services fails waits for it: a new Service never takes an IP an unlisted one holds',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-slow', ns, ['198.51.100.144/30']);
    const first = await controller(t, 'ctl-13', ns);
    await core.createNamespacedService(lbService(ns, 'z-held'));
    await waitFor('z-held assigned', async () => ips(await statusOf(core, ns, 'z-held')).length > 0);
    t.deepEqual(ips(await statusOf(core, ns, 'z-held')), ['198.51.100.144']);
    await first.stop();
    // The next leader cannot list Services for a while (the API server refuses it).
    let refusing = true;
    let refused = 0;
    class Refusing extends KubeClient {
      override list<T>(path: string, query?: Query): Promise<KubeList<T>> {
        if (refusing && path === '/api/v1/services') {
          refused++;
          return Promise.reject(new Error('injected: the list of Services is refused'));
        }
        return super.list<T>(path, query);
      }
    }
    const second = new Controller({
      kube: new Refusing(cp.kube.target),
      clock: systemClock,
      identity: 'ctl-14',
      namespace: ns,
      leader: LEADER,
      ...debugLog('ctl-14'),
    });
    t.context.controllers.push(second);
    t.teardown(() => second.stop());
    await second.start();
    await waitFor('ctl-14 to lead and be refused', () => second.leading && refused >= 1);
    // Sorts first by name: the informer would deliver it before z-held.
    await core.createNamespacedService(lbService(ns, 'a-new'));
    t.false(second.ready, 'not ready to assign from a partial cache');
    refusing = false;
    const got = await waitFor('a-new assigned', async () => {
      const s = ips(await statusOf(core, ns, 'a-new'));
      return s.length > 0 ? s : undefined;
    });
    t.notDeepEqual(got, ['198.51.100.144'], 'a-new took the IP z-held holds');
    t.deepEqual(ips(await statusOf(core, ns, 'z-held')), ['198.51.100.144']);
  },
);

test.serial(
  'restart: a new leader rebuilds the table first and moves no IP; a new Service gets a free one',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-d', ns, ['198.51.100.64/27']);
    const first = await controller(t, 'ctl-4', ns);
    const names = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
    for (const n of names) await core.createNamespacedService(lbService(ns, n));
    await waitFor(
      'all assigned',
      async () => {
        const list = await core.listNamespacedService({ namespace: ns });
        return list.items.filter((s) => ips(s).length > 0).length === names.length;
      },
      20_000,
    );
    // Free a low address, so a table rebuilt wrongly would hand it out again.
    await core.deleteNamespacedService({ namespace: ns, name: 'svc-0' });
    const before = new Map(
      (await core.listNamespacedService({ namespace: ns })).items.map((s) => [s.metadata?.name, ips(s)]),
    );
    await first.stop();
    const second = await controller(t, 'ctl-5', ns);
    await core.createNamespacedService(lbService(ns, 'newcomer'));
    const newcomer = await waitFor('the newcomer assigned', async () => {
      const s = await statusOf(core, ns, 'newcomer');
      return ips(s).length > 0 ? ips(s) : undefined;
    });
    const after = await core.listNamespacedService({ namespace: ns });
    for (const s of after.items)
      if (s.metadata?.name !== 'newcomer')
        t.deepEqual(ips(s), before.get(s.metadata?.name), s.metadata?.name);
    const taken = [...before.values()].flat();
    t.false(taken.includes(newcomer[0] ?? ''), `newcomer got ${newcomer[0] ?? ''}, held by another`);
    t.is(newcomer[0], '198.51.100.64', 'the freed address is reused');
    t.true(second.leading);
  },
);

test.serial(
  'leader failover: the standby takes over when the leader dies, and serves new Services',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-e', ns, ['198.51.100.96/29']);
    const a = await controller(t, 'ctl-6', ns);
    const b = new Controller({
      kube: cp.kube,
      clock: systemClock,
      identity: 'ctl-7',
      namespace: ns,
      leader: LEADER,
      ...debugLog('ctl-7'),
    });
    t.context.controllers.push(b);
    // Every controller stops with its test: one left running (they watch the whole
    // cluster) would assign IPs behind the next test's back.
    t.teardown(() => b.stop());
    await b.start();
    await core.createNamespacedService(lbService(ns, 'one'));
    await waitFor('one assigned', async () => ips(await statusOf(core, ns, 'one')).length > 0);
    t.false(b.leading);
    await a.stop({ release: false }); // a crash: the Lease expires on its own
    await waitFor('the standby to lead', () => b.ready, 10_000);
    await core.createNamespacedService(lbService(ns, 'two'));
    await waitFor(
      'two assigned by the new leader',
      async () => ips(await statusOf(core, ns, 'two')).length > 0,
    );
    t.deepEqual(ips(await statusOf(core, ns, 'one')), ['198.51.100.96']);
    t.deepEqual(ips(await statusOf(core, ns, 'two')), ['198.51.100.97']);
  },
);

async function poolStatus(cp: ControlPlane, name: string): Promise<IPPool['status']> {
  const p = (await cp.kubeConfig.makeApiClient(CustomObjectsApi).getClusterCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    plural: PLURALS.IPPool,
    name,
  })) as IPPool;
  return p.status;
}

const condition = (s: IPPool['status'], type: string) => s?.conditions?.find((c) => c.type === type);

test.serial(
  'pools: counts follow assignments; an overlapping pool is refused with a condition; a shrunk pool keeps its IPs in use, and says so',
  async (t) => {
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('ctl');
    await pool(cp, 'ctl-f', ns, ['198.51.100.128/29']);
    await controller(t, 'ctl-8', ns);
    await core.createNamespacedService(lbService(ns, 'a'));
    await core.createNamespacedService(lbService(ns, 'b'));
    const counted = await waitFor('the pool status to count 2', async () => {
      const s = await poolStatus(cp, 'ctl-f');
      return s?.ipv4?.assigned === 2 ? s : undefined;
    });
    t.is(counted.ipv4?.available, '6');
    t.is(condition(counted, 'Ready')?.status, 'True');
    await pool(cp, 'ctl-g', ns, ['198.51.100.132/30']);
    const refused = await waitFor('the overlapping pool refused', async () => {
      const s = await poolStatus(cp, 'ctl-g');
      return condition(s, 'Overlapping')?.status === 'True' ? s : undefined;
    });
    t.is(condition(refused, 'Ready')?.status, 'False');
    t.regex(condition(refused, 'Overlapping')?.message ?? '', /ctl-f/);
    // Shrink ctl-f so that a and b's addresses fall out of it.
    await cp.kubeConfig.makeApiClient(CustomObjectsApi).patchClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.IPPool,
      name: 'ctl-f',
      body: [{ op: 'replace', path: '/spec/addresses', value: ['198.51.100.130-198.51.100.135'] }],
    });
    const shrunk = await waitFor('the shrunk pool condition', async () => {
      const s = await poolStatus(cp, 'ctl-f');
      return condition(s, 'AddressesInUseOutsidePool')?.status === 'True' ? s : undefined;
    });
    t.regex(condition(shrunk, 'AddressesInUseOutsidePool')?.message ?? '', /198\.51\.100\.128/);
    t.deepEqual(ips(await statusOf(core, ns, 'a')), ['198.51.100.128'], 'never pulled');
    t.deepEqual(ips(await statusOf(core, ns, 'b')), ['198.51.100.129']);
    await waitFor('the IPOutsidePool Events', async () => (await events(cp, ns, 'IPOutsidePool')) >= 2);
  },
);

test.serial(
  'restart during churn: 500 Services created and deleted while the leader dies; no assignment moves, no IP is held twice',
  async (t) => {
    t.timeout(180_000);
    const { cp, core } = t.context;
    const ns = await cp.newNamespace('churn');
    await pool(cp, 'ctl-churn', ns, ['100.64.0.0/22']);
    const first = await controller(t, 'ctl-9', ns);
    const names = Array.from({ length: 500 }, (_, i) => `c${i}`);
    let created = 0;
    let killed: Map<string, string[]> | undefined;
    let second: Controller | undefined;
    const churn = async (name: string): Promise<void> => {
      await core.createNamespacedService(lbService(ns, name));
      created++;
      // Every third Service is deleted again soon after: its IP goes back to the pool.
      if (created % 3 === 0) await core.deleteNamespacedService({ namespace: ns, name });
      if (created === 250 && killed === undefined) {
        killed = new Map();
        await first.stop({ release: false }); // dies mid-churn
        for (const s of (await core.listNamespacedService({ namespace: ns })).items)
          if (ips(s).length > 0) killed.set(s.metadata?.name ?? '', ips(s));
        second = new Controller({
          kube: cp.kube,
          clock: systemClock,
          identity: 'ctl-10',
          namespace: ns,
          leader: LEADER,
          ...debugLog('ctl-10'),
        });
        t.context.controllers.push(second);
        t.teardown(() => (second as Controller).stop());
        await second.start();
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < names.length) await churn(names[next++] as string);
      }),
    );
    const alive = (await core.listNamespacedService({ namespace: ns })).items.length;
    const final = await waitFor(
      'every remaining Service assigned',
      async () => {
        const items = (await core.listNamespacedService({ namespace: ns })).items;
        return items.every((s) => ips(s).length > 0) ? items : undefined;
      },
      60_000,
      200,
    );
    t.true(second?.leading, 'the second controller leads');
    t.true((killed?.size ?? 0) > 50, `${killed?.size ?? 0} Services held IPs when the leader died`);
    t.is(final.length, alive);
    const holders = new Map<string, string>();
    for (const s of final) {
      const name = s.metadata?.name ?? '';
      const before = killed?.get(name);
      if (before !== undefined) t.deepEqual(ips(s), before, `${name} moved`);
      for (const ip of ips(s)) {
        t.is(holders.get(ip), undefined, `${ip} held by ${holders.get(ip) ?? ''} and ${name}`);
        holders.set(ip, name);
      }
    }
  },
);
