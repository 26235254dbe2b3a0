import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { installCrds, startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool, type L2Advertisement } from '../../src/kube/api/index.ts';
import { formatDocuments, migrate, parseDocuments } from '../../src/migrate/index.ts';

const test = anyTest as TestFn<{ cp: ControlPlane; dir: string }>;

/** A realistic MetalLB layer 2 setup, as `kubectl get -o yaml` prints it (a List, server fields included). */
const METALLB = `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata:
    name: public
    namespace: metallb-system
    labels: {exposure: public}
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"metallb.io/v1beta1"}'
    creationTimestamp: "2025-05-01T10:00:00Z"
    generation: 1
    resourceVersion: "4711"
    uid: 0f6c1b6e-3d2e-4b0a-9a43-1c1f2e0d9a11
  spec:
    addresses:
    - 198.51.100.7/24
    - 203.0.113.10 - 203.0.113.20
    - 2001:db8:100::/120
    autoAssign: true
    avoidBuggyIPs: true
    serviceAllocation:
      priority: 10
      namespaces: [web, shop]
      serviceSelectors:
      - matchExpressions: [{key: exposure, operator: In, values: [public]}]
  status: {assignedIPv4: 3, assignedIPv6: 0, availableIPv4: 250, availableIPv6: 256}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: internal, namespace: metallb-system, labels: {exposure: internal}}
  spec:
    addresses: [10.20.0.0/16, fd00:20::/112]
    serviceAllocation:
      priority: 0
      namespaceSelectors: [{matchLabels: {network: internal}}]
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: reserved, namespace: metallb-system}
  spec:
    addresses: [192.0.2.10/32, 192.0.2.20-192.0.2.29]
    autoAssign: false
- apiVersion: metallb.io/v1beta1
  kind: L2Advertisement
  metadata: {name: public-from-edge, namespace: metallb-system}
  spec:
    ipAddressPoolSelectors: [{matchLabels: {exposure: public}}]
    nodeSelectors:
    - matchLabels: {node-role.example.com/edge: ""}
    - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [edge-1, edge-2]}]
    interfaces: [bond0.100, eth1]
- apiVersion: metallb.io/v1beta1
  kind: L2Advertisement
  metadata: {name: default, namespace: metallb-system}
`;

test.before(async (t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'meshlb-migrate-'));
  const cp = await startControlPlane();
  t.context.cp = cp;
  await installCrds(cp);
});

test.after.always(async (t) => {
  await t.context.cp.stop();
  rmSync(t.context.dir, { recursive: true, force: true });
});

test('a converted MetalLB configuration applies cleanly (CEL validation included) and reads back as written', async (t) => {
  const { docs, findings } = parseDocuments(METALLB);
  t.deepEqual(findings, []);
  const result = migrate(docs);
  t.false(result.failed);
  t.is(result.objects.length, 5);
  const file = join(t.context.dir, 'meshlb.yaml');
  writeFileSync(file, formatDocuments(result.objects));

  const applied = await t.context.cp.kubectl([
    'apply',
    '--server-side',
    '--field-manager=meshlb-migrate',
    '-f',
    file,
  ]);
  t.is(applied.code, 0, applied.stderr);
  t.is(applied.stderr.trim(), '');

  const objects = t.context.cp.kubeConfig.makeApiClient(CustomObjectsApi);
  const get = async (plural: string, name: string): Promise<unknown> =>
    objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural, name });

  const pub = (await get(PLURALS.IPPool, 'public')) as IPPool;
  t.deepEqual(pub.spec.addresses, ['198.51.100.0/24', '203.0.113.10-203.0.113.20', '2001:db8:100::/120']);
  t.deepEqual(pub.metadata.labels, { exposure: 'public' });
  t.is(pub.metadata.annotations?.['meshlb.io/migrated-from'], 'metallb.io/v1beta1 metallb-system/public');
  t.is(pub.spec.serviceAllocation?.priority, 10);
  const internal = (await get(PLURALS.IPPool, 'internal')) as IPPool;
  t.is(internal.spec.serviceAllocation?.priority, undefined);
  t.true(internal.spec.autoAssign); // the schema default
  const reserved = (await get(PLURALS.IPPool, 'reserved')) as IPPool;
  t.false(reserved.spec.autoAssign);

  const edge = (await get(PLURALS.L2Advertisement, 'public-from-edge')) as L2Advertisement;
  t.deepEqual(edge.spec.interfaces, ['bond0.100', 'eth1']);
  t.is(edge.spec.nodeSelectors?.length, 2);
  t.is(edge.spec.cordonPolicy, 'Keep');
  const all = (await get(PLURALS.L2Advertisement, 'default')) as L2Advertisement;
  t.deepEqual(all.spec.ipPoolSelectors, [{}]);

  // Applying again changes nothing (the output is stable, so re-running migrate is safe).
  const again = await t.context.cp.kubectl([
    'apply',
    '--server-side',
    '--field-manager=meshlb-migrate',
    '-f',
    file,
  ]);
  t.is(again.code, 0, again.stderr);
  t.is(((await get(PLURALS.IPPool, 'public')) as IPPool).metadata.generation, 1);
});
