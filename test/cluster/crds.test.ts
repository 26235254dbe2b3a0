import { fileURLToPath } from 'node:url';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import {
  API_VERSION,
  CRDS,
  GROUP,
  parseAddressEntry,
  PLURALS,
  VERSION,
  type IPPool,
  type L2Advertisement,
  type ServiceAnnouncement,
} from '../../src/kube/api/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane; objects: CustomObjectsApi; kubectlWarnings: string }>;
const CRD_DIR = fileURLToPath(new URL('../../deploy/crds/', import.meta.url));

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  t.context.objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  // As an operator installs them: kubectl apply on the directory.
  const applied = await cp.kubectl(['apply', '--server-side', '-f', CRD_DIR]);
  if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
  t.context.kubectlWarnings = applied.stderr;
  const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
  for (const crd of CRDS) {
    await waitFor(`${crd.metadata.name} Established`, async () => {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    });
  }
});

test.after.always(async (t) => {
  await t.context.cp.stop();
});

let seq = 0;
const uniqueName = (prefix: string): string => `${prefix}-${String(++seq)}`;

function pool(addresses: readonly string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: { name: uniqueName('pool') },
    spec: { addresses, ...extra },
  };
}

async function createCluster(
  t: ExecutionContext<{ objects: CustomObjectsApi }>,
  plural: string,
  body: Record<string, unknown>,
  dryRun = false,
): Promise<unknown> {
  return t.context.objects.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural,
    body,
    ...(dryRun ? { dryRun: 'All' } : {}),
  });
}

/** Creation is refused with 422 Invalid; returns the API server's message. */
async function refused(
  t: ExecutionContext<{ objects: CustomObjectsApi }>,
  plural: string,
  body: Record<string, unknown>,
): Promise<string> {
  const err = await t.throwsAsync(createCluster(t, plural, body, true));
  const e = err as { code?: number; body?: unknown };
  t.is(e.code, 422, String(e.body));
  const status = JSON.parse(String(e.body)) as { message?: string };
  return status.message ?? '';
}

test('the CRDs from deploy/crds install without warnings and are Established', async (t) => {
  const ext = t.context.cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
  for (const crd of CRDS) {
    const got: V1CustomResourceDefinition = await ext.readCustomResourceDefinition({
      name: crd.metadata.name,
    });
    t.true(got.status?.conditions?.some((c) => c.type === 'NamesAccepted' && c.status === 'True'));
    t.deepEqual(got.status?.acceptedNames?.kind, crd.spec.names.kind);
  }
  t.notRegex(t.context.kubectlWarnings, /warning/i);
});

test('a valid IPPool is stored with its defaults applied', async (t) => {
  const body = pool(
    ['198.51.100.0/24', 'fd00::/120', '198.51.100.10-198.51.100.20', 'fd00::1:10-fd00::1:1f'],
    {
      serviceAllocation: {
        priority: 10,
        namespaces: ['web'],
        namespaceSelectors: [{ matchLabels: { team: 'a' } }],
        serviceSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] }],
      },
    },
  );
  const stored = (await createCluster(t, PLURALS.IPPool, body)) as IPPool;
  t.true(stored.spec.autoAssign);
  t.false(stored.spec.avoidBuggyIPs);
  t.is(stored.spec.serviceAllocation?.priority, 10);
  t.deepEqual(stored.spec.addresses.length, 4);
});

test('IPPool addresses: the API server refuses bad entries with a useful message', async (t) => {
  const cases: [string[], RegExp][] = [
    [['198.51.100.0/33'], /must be a CIDR .* or two addresses joined by "-"/],
    [['not-an-address'], /must be a CIDR/],
    [['198.51.100.7/24'], /bits are set after the prefix length: write the network address/],
    [['198.51.100.20-198.51.100.10'], /the first address of a range must not be above the last/],
    [['fd00::2:0-fd00::1:ffff'], /the first address of a range must not be above the last/],
    [['198.51.100.10-fd00::10'], /both ends of a range must be of one family/],
    [[], /spec\.addresses: Invalid value: 0: spec\.addresses in body should have at least 1 items/],
    [['198.51.100.0/24', '198.51.100.0/24'], /Duplicate value/],
  ];
  for (const [addresses, expected] of cases) {
    t.regex(await refused(t, PLURALS.IPPool, pool(addresses)), expected, addresses.join(','));
  }
  t.regex(await refused(t, PLURALS.IPPool, { ...pool([]), spec: {} }), /spec\.addresses: Required value/);
});

/** Edge cases of the address grammar, with the expected verdict (shared with the unit tests' intent). */
const EDGE_CASES: readonly [string, boolean][] = [
  ['198.51.100.0/24', true],
  ['fd00::/120', true],
  ['FD00::/8', true],
  ['0.0.0.0/0', true],
  ['::/0', true],
  ['10.0.0.1/32', true],
  ['::1.2.3.4/128', true], // IPv4-compatible (deprecated) is not IPv4-mapped
  ['1:2:3:4:5:6:7::/128', true],
  ['10.0.0.1-10.0.0.1', true],
  ['10.0.0.255-10.0.1.0', true],
  ['fd00::-fd00::1', true],
  ['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ['fd00::1:0-fd00::1:ffff', true],
  ['1:2:3:4:5:6:7:8::/128', false], // "::" must stand for at least one group
  ['10.0.1.0-10.0.0.255', false],
  ['fd00::1:0-fd00::0:ffff', false],
  ['255.255.255.255-0.0.0.0', false],
  ['198.51.100.5/24', false],
  ['fd00::1/64', false],
  ['1.2.3.04/32', false],
  ['1.2.3.0/024', false],
  ['1.2.3.4', false],
  ['::ffff:1.2.3.4/128', false],
  ['::ffff:102:304/128', false],
  ['::ffff:1.2.3.4-::ffff:1.2.3.5', false],
  ['fe80::1%eth0-fe80::2', false],
  [' 10.0.0.0/24', false],
  ['10.0.0.1 - 10.0.0.2', false],
  ['10.0.0.1-10.0.0.2-10.0.0.3', false],
  ['-10.0.0.1', false],
  ['10.0.0.1-', false],
  ['fd00::1::2/128', false],
  ['::1.2.3.4.5/128', false],
  ['1.2.3.4-::1', false],
  ['10.0.0.0/8/8', false],
  ['12345::/16', false],
  ['1::2:3:4:5:6:7:8/128', false],
];

test('IPPool addresses: the TypeScript parser and the API server agree on edge cases', async (t) => {
  for (const [entry, valid] of EDGE_CASES) {
    let parsed = true;
    try {
      parseAddressEntry(entry);
    } catch {
      parsed = false;
    }
    const accepted = await createCluster(t, PLURALS.IPPool, pool([entry]), true).then(
      () => true,
      (e: unknown) => {
        if ((e as { code?: number }).code !== 422) throw e;
        return false;
      },
    );
    t.is(accepted, valid, `API server on ${JSON.stringify(entry)}`);
    t.is(parsed, valid, `parser on ${JSON.stringify(entry)}`);
  }
});

const l2adv = (spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: API_VERSION,
  kind: 'L2Advertisement',
  metadata: { name: uniqueName('adv') },
  spec,
});

test('a valid L2Advertisement is stored with cordonPolicy Keep and failback false', async (t) => {
  const stored = (await createCluster(
    t,
    PLURALS.L2Advertisement,
    l2adv({
      ipPools: ['a'],
      nodeSelectors: [{ matchLabels: { rack: '1' } }],
      interfaces: ['eth0', 'bond0.100'],
    }),
  )) as L2Advertisement;
  t.is(stored.spec.cordonPolicy, 'Keep');
  t.false(stored.spec.failback);
  t.deepEqual(stored.spec.interfaces, ['eth0', 'bond0.100']);
  // An empty selector selects every pool and is kept as such (not pruned away).
  const all = (await createCluster(
    t,
    PLURALS.L2Advertisement,
    l2adv({ ipPoolSelectors: [{}] }),
  )) as L2Advertisement;
  t.deepEqual(all.spec.ipPoolSelectors, [{}]);
});

test('L2Advertisement: the API server refuses bad specs with a useful message', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { ipPools: ['a'], cordonPolicy: 'Drain' },
      /Unsupported value: "Drain": supported values: "Keep", "HandOff"/,
    ],
    [{ ipPools: ['a'], interfaces: ['a-very-long-ifname0'] }, /Too long: may not be more than 15 bytes/],
    [{ ipPools: ['a'], interfaces: ['eth0/1'] }, /an interface name has no '\/', ':' or whitespace/],
    [{ ipPools: ['a'], interfaces: ['eth 0'] }, /an interface name has no/],
    [{ ipPools: ['a'], interfaces: ['..'] }, /an interface name has no/],
    [{ nodeSelectors: [{}] }, /name the pools to advertise in ipPools or ipPoolSelectors/],
    [{ ipPools: [] }, /name the pools to advertise/],
    [
      { ipPoolSelectors: [{ matchExpressions: [{ key: 'x', operator: 'In' }] }] },
      /operators In and NotIn need values/,
    ],
    [
      { ipPoolSelectors: [{ matchExpressions: [{ key: 'x', operator: 'Exists', values: ['y'] }] }] },
      /Exists and DoesNotExist take none/,
    ],
  ];
  for (const [spec, expected] of cases) {
    t.regex(await refused(t, PLURALS.L2Advertisement, l2adv(spec)), expected, JSON.stringify(spec));
  }
});

test('printer columns: kubectl get shows them', async (t) => {
  const { cp } = t.context;
  const name = uniqueName('cols');
  await createCluster(t, PLURALS.IPPool, { ...pool(['192.0.2.0/28']), metadata: { name } });
  const out = await cp.kubectl(['get', `ippools.${GROUP}`, name]);
  t.is(out.code, 0, out.stderr);
  const [header = '', row = ''] = out.stdout.trim().split('\n');
  t.deepEqual(header.split(/\s{2,}/), [
    'NAME',
    'ADDRESSES',
    'AUTO ASSIGN',
    'ASSIGNED',
    'IPV4 AVAILABLE',
    'IPV6 AVAILABLE',
    'READY',
    'AGE',
  ]);
  t.regex(row, new RegExp(`^${name}\\s+\\["192\\.0\\.2\\.0/28"\\]\\s+true\\s`));
  const wide = await cp.kubectl(['get', `ippools.${GROUP}`, name, '-o', 'wide']);
  t.regex(wide.stdout, /PRIORITY\s+AVOID BUGGY IPS/);
  const adv = await cp.kubectl(['get', `l2advertisements.${GROUP}`]);
  t.regex(adv.stdout, /^NAME\s+IP POOLS\s+NODES\s+READY\s+INTERFACES\s+CORDON POLICY\s+FAILBACK\s+AGE/);
  // The category lists every kind.
  const all = await cp.kubectl(['get', 'meshlb']);
  t.regex(all.stdout, /ippool\.meshlb\.io\//);
});

test('status subresource: IPPool status is written through /status only', async (t) => {
  const { objects } = t.context;
  const name = uniqueName('status');
  const created = (await createCluster(t, PLURALS.IPPool, {
    ...pool(['192.0.2.0/24', 'fd00:1::/64']),
    metadata: { name },
    // Ignored on create: status belongs to the /status endpoint.
    status: { assigned: 99 },
  })) as IPPool;
  t.is(created.status, undefined);
  const status: IPPool['status'] = {
    assigned: 1,
    ipv4: { assigned: 1, available: '255' },
    ipv6: { assigned: 0, available: '18446744073709551616' },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Allocatable',
        message: 'all addresses parse and none overlap another pool',
        observedGeneration: created.metadata.generation ?? 0,
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    ],
  };
  const updated = (await objects.replaceClusterCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    plural: PLURALS.IPPool,
    name,
    body: { ...created, status },
  })) as IPPool;
  t.deepEqual(updated.status, status);
  t.is(updated.metadata.generation, created.metadata.generation, 'a status write does not bump generation');
  // A bad status is refused by the schema too.
  const bad = await t.throwsAsync(
    objects.replaceClusterCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.IPPool,
      name,
      body: { ...updated, status: { ...status, ipv6: { assigned: 0, available: '1e19' } } },
    }),
  );
  t.is((bad as { code?: number }).code, 422);
  const out = await t.context.cp.kubectl(['get', `ippools.${GROUP}`, name]);
  t.regex(out.stdout, new RegExp(`${name}\\s+.*\\s+true\\s+1\\s+255\\s+18446744073709551616\\s+True\\s`));
});

test('ServiceAnnouncement: namespaced, status via /status, columns show node and IPs', async (t) => {
  const { cp, objects } = t.context;
  const namespace = await cp.newNamespace('announce');
  const base = {
    group: GROUP,
    version: VERSION,
    plural: PLURALS.ServiceAnnouncement,
    namespace,
  };
  const created = (await objects.createNamespacedCustomObject({
    ...base,
    body: { apiVersion: API_VERSION, kind: 'ServiceAnnouncement', metadata: { name: 'web' } },
  })) as ServiceAnnouncement;
  const status: ServiceAnnouncement['status'] = {
    announcements: [
      { ip: '198.51.100.10', node: 'node-a', interfaces: ['eth0'], epoch: 3, since: '2025-01-02T03:04:05Z' },
      { ip: 'fd00::a', node: 'node-b', epoch: 1, since: '2025-01-02T03:04:06Z' },
    ],
  };
  const updated = (await objects.replaceNamespacedCustomObjectStatus({
    ...base,
    name: 'web',
    body: { ...created, status },
  })) as ServiceAnnouncement;
  t.deepEqual(updated.status, status);
  const out = await cp.kubectl(['get', '-n', namespace, `serviceannouncements.${GROUP}`]);
  t.regex(out.stdout, /^NAME\s+IP\s+NODE\s+SINCE\s+AGE\n/);
  t.regex(out.stdout, /\nweb\s+198\.51\.100\.10\s+node-a\s+\d+d\s+\S+\n/);
  const wide = await cp.kubectl(['get', '-n', namespace, `serviceannouncements.${GROUP}`, '-o', 'wide']);
  t.regex(wide.stdout, /\nweb\s+198\.51\.100\.10\s+node-a\s+\d+d\s+fd00::a\s+node-b\s+\d+d\s+\S+\n/);
  const bad = await t.throwsAsync(
    objects.replaceNamespacedCustomObjectStatus({
      ...base,
      name: 'web',
      body: {
        ...updated,
        status: {
          announcements: [{ ip: 'FD00::A', node: 'node-a', epoch: 1, since: '2025-01-02T03:04:05Z' }],
        },
      },
    }),
  );
  t.regex(String((bad as { body?: unknown }).body), /must be an IPv4 or IPv6 address in canonical form/);
});
