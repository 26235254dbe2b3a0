// `meshlb controller` as it runs in a cluster: two processes with the
// ServiceAccount and RBAC of deploy/rbac/controller.yaml, against a real API
// server. Least privilege is enough (IPs assigned, pool status and Events
// written, no 403 in the logs) and no wider than the code needs (access reviews
// with the ServiceAccount's own token); leader failover on SIGKILL, and a
// SIGTERM that exits 0 and releases the Lease.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION, type IPPool } from '../../src/kube/api/index.ts';
import {
  createIpPool,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';
import { killGroup, spawnGroup, tail, type GroupChild } from '../../lab/testbed/process-group.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const RBAC = fileURLToPath(new URL('../../deploy/rbac/controller.yaml', import.meta.url));
const SA_NAMESPACE = 'meshlb-system';
const SA = 'meshlb-controller';
/** Quick leader election (the hidden settings); the defaults are client-go's 15 s / 10 s / 2 s. */
const LEASE_MS = 2_000;
const TIMINGS = {
  MESHLB_LEASE_DURATION_MS: String(LEASE_MS),
  MESHLB_RENEW_DEADLINE_MS: '1500',
  MESHLB_RETRY_PERIOD_MS: '200',
};

interface Ctx {
  cp: ControlPlane;
  dir: string;
  /** A kubeconfig file with the ServiceAccount's token. */
  saKubeconfig: string;
  sa: KubeConfig;
  children: GroupChild[];
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  t.context.children = [];
  t.context.dir = mkdtempSync(join(tmpdir(), 'meshlb-ctlproc-'));
  await installCrds(cp);
  const applied = await cp.kubectl(['apply', '--server-side', '-f', RBAC]);
  if (applied.code !== 0) throw new Error(`kubectl apply of ${RBAC} failed: ${applied.stderr}`);
  // The ServiceAccount exists (deploy/rbac created it): this only asks for a token.
  t.context.sa = await cp.kubeConfigFor(SA_NAMESPACE, SA);
  t.context.saKubeconfig = join(t.context.dir, 'controller.kubeconfig');
  writeFileSync(t.context.saKubeconfig, t.context.sa.exportConfig());
});
test.after.always(async (t) => {
  // before() may have failed half-way: anything may be missing.
  const { children = [], cp, dir } = t.context as Partial<Ctx>;
  for (const c of children) {
    if (c.exited() !== undefined) continue;
    c.ref();
    killGroup(c.pid, 'SIGKILL');
    await c.done;
  }
  await cp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function startController(t: { context: Ctx }, identity: string): GroupChild {
  const { dir, saKubeconfig, children } = t.context;
  const child = spawnGroup(
    [
      process.execPath,
      MAIN,
      'controller',
      '--kubeconfig',
      saKubeconfig,
      '--identity',
      identity,
      '--namespace',
      SA_NAMESPACE,
    ],
    join(dir, `${identity}.log`),
    // Two controllers on one host: the endpoint has its own test (controller-metrics).
    { ...process.env, ...TIMINGS, KUBECONFIG: '', MESHLB_METRICS_ADDR: 'off' },
  );
  children.push(child);
  return child;
}

async function holder(cp: ControlPlane): Promise<string | undefined> {
  try {
    const lease = await cp.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'meshlb-controller', namespace: SA_NAMESPACE });
    return lease.spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

async function ingress(core: CoreV1Api, namespace: string, name: string): Promise<string[] | undefined> {
  const svc = await core.readNamespacedService({ namespace, name });
  const ips = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip]));
  return ips.length > 0 ? ips : undefined;
}

async function createService(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
    },
  });
}

/** Every line the process wrote (stdout and stderr share the log) is a JSON log record. */
function logRecords(child: GroupChild): Record<string, unknown>[] {
  const text = readFileSync(child.log, 'utf8').trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const can = async (kc: KubeConfig, attrs: V1ResourceAttributes): Promise<boolean> =>
  (
    await kc
      .makeApiClient(AuthorizationV1Api)
      .createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attrs } } })
  ).status?.allowed === true;

test('bad flags exit 2 with the help; --help prints it; nothing on stdout but the help', (t) => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [MAIN, 'controller', ...args], {
      encoding: 'utf8',
      env: { ...process.env, KUBECONFIG: '', MESHLB_LOG_LEVEL: '' },
    });
  const help = run('--help');
  t.is(help.status, 0);
  t.regex(help.stdout, /usage: meshlb controller/);
  for (const [args, message] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--namespace', 'Not_A_Namespace'], /is not a namespace name/],
    [['--lease-duration-ms', '1000'], /retry period < renew deadline < lease duration/],
    [['--retry-period-ms', '2s'], /--retry-period-ms must be a whole number/],
    [['--kubeconfig', '/nonexistent/kubeconfig'], /cannot load the kubeconfig/],
  ] as const) {
    const r = run(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, message);
    t.is(r.stdout, '');
  }
});

test('the ServiceAccount may do what the controller does, and nothing wider', async (t) => {
  const { sa } = t.context;
  const other = await t.context.cp.newNamespace('other');
  const allowed: V1ResourceAttributes[] = [
    { verb: 'list', resource: 'services' },
    { verb: 'watch', resource: 'services' },
    { verb: 'patch', resource: 'services', subresource: 'status', namespace: other, name: 'web' },
    { verb: 'list', resource: 'namespaces' },
    { verb: 'watch', resource: 'namespaces' },
    { verb: 'list', group: GROUP, resource: 'ippools' },
    { verb: 'watch', group: GROUP, resource: 'ippools' },
    { verb: 'patch', group: GROUP, resource: 'ippools', subresource: 'status', name: 'any' },
    { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: other },
    // L2Advertisement status: the advertisements, the Nodes' labels, the speaker Pods.
    { verb: 'list', group: GROUP, resource: 'l2advertisements' },
    { verb: 'watch', group: GROUP, resource: 'l2advertisements' },
    { verb: 'patch', group: GROUP, resource: 'l2advertisements', subresource: 'status', name: 'any' },
    { verb: 'list', resource: 'nodes' },
    { verb: 'watch', resource: 'nodes' },
    { verb: 'list', resource: 'pods', namespace: SA_NAMESPACE },
    { verb: 'watch', resource: 'pods', namespace: SA_NAMESPACE },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: SA_NAMESPACE },
    ...(['get', 'update'] as const).map((verb) => ({
      verb,
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: SA_NAMESPACE,
      name: 'meshlb-controller',
    })),
  ];
  const denied: V1ResourceAttributes[] = [
    // Services: the spec is never written, single objects never read.
    { verb: 'get', resource: 'services', namespace: other, name: 'web' },
    { verb: 'update', resource: 'services', namespace: other, name: 'web' },
    { verb: 'patch', resource: 'services', namespace: other, name: 'web' },
    { verb: 'create', resource: 'services', namespace: other },
    { verb: 'delete', resource: 'services', namespace: other, name: 'web' },
    { verb: 'update', resource: 'services', subresource: 'status', namespace: other, name: 'web' },
    { verb: 'get', resource: 'secrets', namespace: SA_NAMESPACE, name: 'any' },
    { verb: 'list', resource: 'secrets' },
    { verb: 'patch', resource: 'namespaces', name: other },
    { verb: 'list', resource: 'pods' },
    { verb: 'list', resource: 'pods', namespace: other },
    { verb: 'patch', resource: 'pods', namespace: SA_NAMESPACE, name: 'any' },
    { verb: 'get', resource: 'nodes', name: 'any' },
    { verb: 'patch', resource: 'nodes', name: 'any' },
    { verb: 'update', resource: 'nodes', subresource: 'status', name: 'any' },
    { verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices' },
    // Pools and advertisements: never written but their status; announcements not read at all.
    { verb: 'get', group: GROUP, resource: 'ippools', name: 'any' },
    { verb: 'patch', group: GROUP, resource: 'ippools', name: 'any' },
    { verb: 'create', group: GROUP, resource: 'ippools' },
    { verb: 'delete', group: GROUP, resource: 'ippools', name: 'any' },
    { verb: 'patch', group: GROUP, resource: 'l2advertisements', name: 'any' },
    { verb: 'list', group: GROUP, resource: 'serviceannouncements' },
    // Events: created only, and only through events.k8s.io.
    { verb: 'create', resource: 'events', namespace: other },
    { verb: 'patch', group: 'events.k8s.io', resource: 'events', namespace: other, name: 'any' },
    { verb: 'list', group: 'events.k8s.io', resource: 'events' },
    // Leases: its own, in its own namespace.
    {
      verb: 'get',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: other,
      name: 'meshlb-controller',
    },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: other },
    {
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: SA_NAMESPACE,
      name: 'someone-else',
    },
    {
      verb: 'delete',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: SA_NAMESPACE,
      name: 'meshlb-controller',
    },
    { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: SA_NAMESPACE },
  ];
  const describe = (a: V1ResourceAttributes): string =>
    `${a.verb ?? ''} ${a.group ?? ''}/${a.resource ?? ''}${a.subresource === undefined ? '' : `/${a.subresource}`}` +
    ` ${a.namespace ?? '(all)'}/${a.name ?? '*'}`;
  const wrong: string[] = [];
  for (const a of allowed) if (!(await can(sa, a))) wrong.push(`denied: ${describe(a)}`);
  for (const a of denied) if (await can(sa, a)) wrong.push(`allowed: ${describe(a)}`);
  t.deepEqual(wrong, []);
});

test('two processes: the leader assigns; SIGKILL it and the other takes over; SIGTERM exits 0 and releases the Lease', async (t) => {
  const { cp } = t.context;
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const ns = await cp.newNamespace('ctlproc');
  await createIpPool(cp, 'ctlproc', { addresses: ['192.0.2.0/28'], serviceAllocation: { namespaces: [ns] } });
  const procs = new Map([
    ['a', startController(t, 'a')],
    ['b', startController(t, 'b')],
  ]);
  const dump = (): string =>
    [...procs].map(([id, c]) => `--- ${id} (${c.exited() ?? 'running'}):\n${tail(c.log, 15)}`).join('\n');
  t.teardown(() => {
    if (!t.passed) t.log(dump());
  });

  const first = await waitFor('a leader', async () => {
    const h = await holder(cp);
    return h === 'a' || h === 'b' ? h : undefined;
  });
  const second = first === 'a' ? 'b' : 'a';
  await createService(core, ns, 'one');
  const ipsOne = await waitFor('an IP for Service one', () => ingress(core, ns, 'one'), 15_000);
  t.regex(ipsOne[0] ?? '', /^192\.0\.2\./);
  // Events (events.k8s.io, in the Service's namespace) and pool status: the RBAC is enough.
  const events = cp.kubeConfig.makeApiClient(EventsV1Api);
  const allocated = await waitFor('the IPAllocated Event', async () =>
    (await events.listNamespacedEvent({ namespace: ns })).items.find((e) => e.reason === 'IPAllocated'),
  );
  t.is(allocated.reportingInstance, first);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await waitFor('the pool status', async () => {
    const p = (await custom.getClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.IPPool,
      name: 'ctlproc',
    })) as IPPool;
    return (p.status?.assigned ?? 0) >= 1;
  });

  // A crash: the Lease is not released; the standby takes over once it expires.
  const leader = procs.get(first) as GroupChild;
  leader.ref();
  killGroup(leader.pid, 'SIGKILL');
  await leader.done;
  const killedAt = Date.now();
  await createService(core, ns, 'two');
  const ipsTwo = await waitFor('an IP for Service two', () => ingress(core, ns, 'two'), LEASE_MS + 8_000);
  const took = Date.now() - killedAt;
  t.log(`Service two assigned ${took} ms after the leader was killed (lease ${LEASE_MS} ms)`);
  t.true(took <= LEASE_MS + 5_000, `took ${took} ms`);
  t.is(await holder(cp), second);
  t.notDeepEqual(ipsTwo, ipsOne);
  t.deepEqual(await ingress(core, ns, 'one'), ipsOne, 'an assigned IP never moves');

  // A clean stop: exit 0, Lease released.
  const standby = procs.get(second) as GroupChild;
  standby.ref();
  const termAt = Date.now();
  killGroup(standby.pid, 'SIGTERM');
  await waitFor(`${second} to exit`, () => standby.exited(), 10_000);
  t.log(`${second} exited ${Date.now() - termAt} ms after SIGTERM`);
  t.is(standby.exited(), '0');
  t.falsy(await holder(cp), 'holderIdentity cleared');

  // Nothing but JSON logs, and no request refused by RBAC.
  for (const c of procs.values()) {
    const records = logRecords(c);
    t.true(records.some((r) => r.msg === 'controller started'));
    t.deepEqual(
      // \b: a record's `time` (epoch ms) may contain the digits 403.
      records.filter((r) => /\b403\b|forbidden/i.test(JSON.stringify(r))),
      [],
    );
  }
  const stopped = logRecords(standby).map((r) => r.msg);
  t.true(stopped.includes('stopping') && stopped.includes('stopped'));
});
