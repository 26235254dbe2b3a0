import test from 'ava';
import {
  formatFinding,
  migrate,
  MIGRATED_FROM_ANNOTATION,
  normalizeEntry,
  parseDocuments,
  formatDocuments,
  type Finding,
  type MigrateResult,
  type WrittenIPPool,
  type WrittenL2Advertisement,
} from '../../src/migrate/index.ts';

const V = 'metallb.io/v1beta1';
const poolDoc = (spec: unknown, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: V,
  kind: 'IPAddressPool',
  metadata: { name: 'p', namespace: 'metallb-system', ...metadata },
  spec,
});
const adDoc = (spec: unknown, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: V,
  kind: 'L2Advertisement',
  metadata: { name: 'a', namespace: 'metallb-system', ...metadata },
  ...(spec === undefined ? {} : { spec }),
});

const onePool = (r: MigrateResult): WrittenIPPool | undefined =>
  r.objects.find((o): o is WrittenIPPool => o.kind === 'IPPool');
const oneAd = (r: MigrateResult): WrittenL2Advertisement | undefined =>
  r.objects.find((o): o is WrittenL2Advertisement => o.kind === 'L2Advertisement');
const issuesOf = (r: MigrateResult, severity: Finding['severity']): string[] =>
  r.findings.filter((f) => f.severity === severity && f.subject !== 'Service/*').map((f) => f.message);

// ---- address entries ----

const ENTRIES: readonly [string, string, RegExp | undefined][] = [
  ['198.51.100.0/24', '198.51.100.0/24', undefined],
  ['198.51.100.7/32', '198.51.100.7/32', undefined],
  ['fd00::5/128', 'fd00::5/128', undefined],
  ['FD00::/120', 'FD00::/120', undefined],
  ['198.51.100.10-198.51.100.20', '198.51.100.10-198.51.100.20', undefined],
  ['198.51.100.7/24', '198.51.100.0/24', /bits set after the prefix length.*198\.51\.100\.0\/24/],
  ['fd00::1:2/112', 'fd00::1:0/112', /written as fd00::1:0\/112/],
  ['198.51.100.10 - 198.51.100.20', '198.51.100.10-198.51.100.20', /spaces around "-" removed/],
  ['fd00::1 -fd00::9', 'fd00::1-fd00::9', /spaces around "-" removed/],
  [' 198.51.100.0/24 ', '198.51.100.0/24', /spaces trimmed/],
  ['198.51.100.7', '198.51.100.7/32', /single address.*\/32/],
  ['fd00::7', 'fd00::7/128', /single address.*\/128/],
];

for (const [input, output, change] of ENTRIES) {
  test(`address entry ${JSON.stringify(input)} -> ${output}`, (t) => {
    const r = normalizeEntry(input);
    if ('error' in r) return t.fail(r.error);
    t.is(r.entry.text, output);
    if (change === undefined) t.is(r.change, undefined);
    else t.regex(r.change ?? '', change);
    // And the whole pool says the same.
    const m = migrate([poolDoc({ addresses: [input] })]);
    t.deepEqual(onePool(m)?.spec.addresses, [output]);
    t.is(issuesOf(m, 'warning').length, change === undefined ? 0 : 1);
  });
}

const BAD_ENTRIES: readonly [unknown, RegExp][] = [
  ['198.51.100.0/33', /prefix length above 32/],
  ['1.2.3.04/32', /not a CIDR/],
  ['::ffff:1.2.3.4/128', /not a CIDR/],
  ['198.51.100.20-198.51.100.10', /first address of a range is above the last/],
  ['198.51.100.1-fd00::1', /different families/],
  ['1.2.3.4-1.2.3.5-1.2.3.6', /two addresses joined by one "-"/],
  ['fe80::1%eth0/128', /not a CIDR/],
  ['pool.example.com', /not a CIDR/],
  [42, /must be a string/],
];

for (const [input, message] of BAD_ENTRIES) {
  test(`address entry ${JSON.stringify(input)} is an error, the pool is not written`, (t) => {
    const m = migrate([poolDoc({ addresses: ['10.0.0.0/8', input] })]);
    t.is(onePool(m), undefined);
    t.true(m.failed);
    const errors = issuesOf(m, 'error');
    t.is(errors.length, 1);
    t.regex(errors[0] ?? '', /^addresses\[1\]: /);
    t.regex(errors[0] ?? '', message);
  });
}

test('missing, empty and non-list addresses are errors', (t) => {
  for (const [spec, message] of [
    [{}, /addresses: missing/],
    [{ addresses: [] }, /addresses: empty/],
    [{ addresses: '10.0.0.0/8' }, /must be a list/],
    [undefined, /spec: missing/],
  ] as const) {
    const m = migrate([poolDoc(spec)]);
    t.true(m.failed);
    t.regex(issuesOf(m, 'error').join('\n'), message);
  }
});

test('a duplicate entry (after normalising) is written once, with a warning', (t) => {
  const m = migrate([poolDoc({ addresses: ['10.0.0.0/24', '10.0.0.9/24'] })]);
  t.deepEqual(onePool(m)?.spec.addresses, ['10.0.0.0/24']);
  t.regex(issuesOf(m, 'warning').join('\n'), /addresses\[1\].*duplicate/);
});

test('more than 32 entries: adjacent ones are merged when that brings them to 32, else an error', (t) => {
  const adjacent = Array.from({ length: 40 }, (_, i) => `10.0.0.${String(i)}/32`);
  const merged = migrate([poolDoc({ addresses: adjacent })]);
  t.false(merged.failed);
  t.deepEqual(onePool(merged)?.spec.addresses, ['10.0.0.0-10.0.0.39']);
  t.regex(issuesOf(merged, 'warning').join('\n'), /40 entries are more than meshlb's 32.*into 1/);

  const aligned = Array.from({ length: 64 }, (_, i) => `10.0.1.${String(i)}/32`);
  t.deepEqual(onePool(migrate([poolDoc({ addresses: aligned })]))?.spec.addresses, ['10.0.1.0/26']);

  const apart = Array.from({ length: 33 }, (_, i) => `10.0.${String(i)}.1/32`);
  const refused = migrate([poolDoc({ addresses: apart })]);
  t.true(refused.failed);
  t.is(onePool(refused), undefined);
  t.regex(
    issuesOf(refused, 'error').join('\n'),
    /33 entries \(33 after merging adjacent ones\), meshlb takes at most 32/,
  );
});

// ---- the other pool fields ----

test('autoAssign and avoidBuggyIPs are carried over when set, left to the defaults when not', (t) => {
  const set = onePool(
    migrate([poolDoc({ addresses: ['10.0.0.0/24'], autoAssign: false, avoidBuggyIPs: true })]),
  );
  t.is(set?.spec.autoAssign, false);
  t.is(set?.spec.avoidBuggyIPs, true);
  const unset = onePool(migrate([poolDoc({ addresses: ['10.0.0.0/24'] })]));
  t.false(unset !== undefined && 'autoAssign' in unset.spec);
  t.false(unset !== undefined && 'avoidBuggyIPs' in unset.spec);
  const bad = migrate([poolDoc({ addresses: ['10.0.0.0/24'], autoAssign: 'yes' })]);
  t.regex(issuesOf(bad, 'error').join('\n'), /autoAssign: must be true or false/);
});

test('serviceAllocation is carried over field by field', (t) => {
  const sel = [{ matchLabels: { team: 'a' } }, { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }];
  const p = onePool(
    migrate([
      poolDoc({
        addresses: ['10.0.0.0/24'],
        serviceAllocation: {
          priority: 5,
          namespaces: ['a', 'b'],
          namespaceSelectors: sel,
          serviceSelectors: sel,
        },
      }),
    ]),
  );
  t.deepEqual(p?.spec.serviceAllocation, {
    priority: 5,
    namespaces: ['a', 'b'],
    namespaceSelectors: sel,
    serviceSelectors: sel,
  });
});

test('priority 0 (no priority in MetalLB) is left out with a warning; a negative one is an error', (t) => {
  const zero = migrate([poolDoc({ addresses: ['10.0.0.0/24'], serviceAllocation: { priority: 0 } })]);
  t.is(onePool(zero)?.spec.serviceAllocation, undefined);
  t.regex(issuesOf(zero, 'warning').join('\n'), /priority: 0 means "no priority" in MetalLB/);
  const negative = migrate([poolDoc({ addresses: ['10.0.0.0/24'], serviceAllocation: { priority: -1 } })]);
  t.true(negative.failed);
  t.regex(issuesOf(negative, 'error').join('\n'), /priority: must be an integer/);
});

const SELECTOR_ERRORS: readonly [unknown, RegExp][] = [
  [[{ matchExpressions: [{ key: 'a', operator: 'In' }] }], /In and NotIn need values/],
  [
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }],
    /Exists and DoesNotExist take none/,
  ],
  [[{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }], /operator: must be In, NotIn/],
  [[{ matchLabels: { a: 1 } }], /matchLabels: must map label keys to strings/],
  [Array.from({ length: 17 }, () => ({})), /17 selectors, meshlb takes at most 16/],
  ['team=a', /must be a list of label selectors/],
];

for (const [selectors, message] of SELECTOR_ERRORS) {
  test(`serviceSelectors ${JSON.stringify(selectors).slice(0, 60)} is an error`, (t) => {
    const m = migrate([
      poolDoc({ addresses: ['10.0.0.0/24'], serviceAllocation: { serviceSelectors: selectors } }),
    ]);
    t.true(m.failed);
    t.regex(issuesOf(m, 'error').join('\n'), message);
  });
}

test('namespaces: duplicates written once; over 64 is an error', (t) => {
  const dup = migrate([
    poolDoc({ addresses: ['10.0.0.0/24'], serviceAllocation: { namespaces: ['a', 'a'] } }),
  ]);
  t.deepEqual(onePool(dup)?.spec.serviceAllocation?.namespaces, ['a']);
  t.regex(issuesOf(dup, 'warning').join('\n'), /namespaces: "a" is listed twice/);
  const many = Array.from({ length: 65 }, (_, i) => `ns${String(i)}`);
  const tooMany = migrate([poolDoc({ addresses: ['10.0.0.0/24'], serviceAllocation: { namespaces: many } })]);
  t.regex(issuesOf(tooMany, 'error').join('\n'), /at most 64 namespace names/);
});

test('unknown spec fields are reported and left out', (t) => {
  const m = migrate([
    poolDoc({ addresses: ['10.0.0.0/24'], autoassign: false, serviceAllocation: { priorty: 3 } }),
    adDoc({ ipAddressPools: ['p'], nodeSelector: {} }),
  ]);
  t.false(m.failed);
  t.deepEqual(issuesOf(m, 'warning').sort(), [
    'serviceAllocation.priorty: unknown field, left out',
    'spec.autoassign: unknown field, left out',
    'spec.nodeSelector: unknown field, left out',
  ]);
});

// ---- metadata ----

test('metadata: name and labels kept; namespace and annotations dropped; migrated-from added', (t) => {
  const m = migrate([
    poolDoc(
      { addresses: ['10.0.0.0/24'] },
      {
        labels: { exposure: 'public' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', owner: 'netops' },
        uid: 'x',
        resourceVersion: '7',
        finalizers: ['example.com/keep'],
      },
    ),
  ]);
  t.deepEqual(onePool(m)?.metadata, {
    name: 'p',
    labels: { exposure: 'public' },
    annotations: { [MIGRATED_FROM_ANNOTATION]: 'metallb.io/v1beta1 metallb-system/p' },
  });
  t.deepEqual(issuesOf(m, 'warning'), [
    'metadata.annotations: left out: owner',
    'metadata.finalizers: left out: example.com/keep',
  ]);
});

test('a missing name is an error', (t) => {
  const m = migrate([
    { apiVersion: V, kind: 'IPAddressPool', metadata: {}, spec: { addresses: ['10.0.0.0/24'] } },
  ]);
  t.true(m.failed);
  t.deepEqual(issuesOf(m, 'error'), ['metadata.name: missing']);
});

test('the same name in two namespaces: the first is written, the second is an error', (t) => {
  const m = migrate([
    poolDoc({ addresses: ['10.0.0.0/24'] }, { namespace: 'one' }),
    poolDoc({ addresses: ['10.0.1.0/24'] }, { namespace: 'two' }),
    adDoc({ ipAddressPools: ['p'] }, { name: 'p', namespace: 'two' }), // another kind: no collision
  ]);
  t.is(m.objects.length, 2);
  t.deepEqual(onePool(m)?.spec.addresses, ['10.0.0.0/24']);
  t.regex(issuesOf(m, 'error').join('\n'), /IPPool p is already written for one\/p .*cluster-scoped/);
});

// ---- L2Advertisement ----

test('L2Advertisement: every field carried over', (t) => {
  const spec = {
    ipAddressPools: ['p'],
    ipAddressPoolSelectors: [{ matchLabels: { exposure: 'public' } }],
    nodeSelectors: [{ matchLabels: { 'node-role.example.com/edge': '' } }],
    interfaces: ['bond0.100', 'eth1'],
  };
  const m = migrate([poolDoc({ addresses: ['10.0.0.0/24'] }), adDoc(spec)]);
  t.deepEqual(oneAd(m)?.spec, {
    ipPools: spec.ipAddressPools,
    ipPoolSelectors: spec.ipAddressPoolSelectors,
    nodeSelectors: spec.nodeSelectors,
    interfaces: spec.interfaces,
  });
  t.deepEqual(issuesOf(m, 'warning'), []);
  t.false(m.failed);
});

test('L2Advertisement naming no pools (MetalLB: all pools) becomes ipPoolSelectors: [{}], with a note', (t) => {
  for (const spec of [
    undefined,
    {},
    { ipAddressPools: [], ipAddressPoolSelectors: [] },
    { interfaces: ['eth0'] },
  ]) {
    const m = migrate([adDoc(spec)]);
    t.deepEqual(oneAd(m)?.spec.ipPoolSelectors, [{}]);
    t.regex(
      issuesOf(m, 'note').join('\n'),
      /in MetalLB means every pool: written as ipPoolSelectors: \[\{\}\]/,
    );
  }
});

test('L2Advertisement naming a pool not in the input: written, with a warning', (t) => {
  const m = migrate([adDoc({ ipAddressPools: ['elsewhere'] })]);
  t.deepEqual(oneAd(m)?.spec.ipPools, ['elsewhere']);
  t.regex(issuesOf(m, 'warning').join('\n'), /not among the converted pools: elsewhere/);
});

const BAD_INTERFACES: readonly [unknown, RegExp][] = [
  [['a-very-long-ifname0'], /must be 1 to 15 bytes/],
  [['eth0/1'], /has no '\/', ':' or whitespace/],
  [['eth0:1'], /has no '\/', ':' or whitespace/],
  [['..'], /is not '\.' or '\.\.'/],
  [Array.from({ length: 33 }, (_, i) => `eth${String(i)}`), /33 interfaces, meshlb takes at most 32/],
  ['eth0', /must be a list of strings/],
];

for (const [interfaces, message] of BAD_INTERFACES) {
  test(`interfaces ${JSON.stringify(interfaces).slice(0, 40)} is an error`, (t) => {
    const m = migrate([adDoc({ ipAddressPools: ['p'], interfaces })]);
    t.true(m.failed);
    t.is(oneAd(m), undefined);
    t.regex(issuesOf(m, 'error').join('\n'), message);
  });
}

test('interfaces and ipAddressPools listed twice are written once', (t) => {
  const m = migrate([adDoc({ ipAddressPools: ['p', 'p'], interfaces: ['eth0', 'eth0'] })]);
  t.deepEqual(oneAd(m)?.spec.ipPools, ['p']);
  t.deepEqual(oneAd(m)?.spec.interfaces, ['eth0']);
  t.is(issuesOf(m, 'warning').filter((w) => w.includes('listed twice')).length, 2);
});

// ---- other kinds ----

const OTHER_KINDS: readonly [Record<string, unknown>, Finding['severity'], RegExp][] = [
  [{ apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer' }, 'error', /no BGP mode/],
  [{ apiVersion: V, kind: 'BGPAdvertisement' }, 'error', /no BGP mode/],
  [{ apiVersion: V, kind: 'Community' }, 'error', /no BGP mode/],
  [{ apiVersion: V, kind: 'BFDProfile' }, 'error', /no BGP mode/],
  [{ apiVersion: V, kind: 'AddressPool' }, 'error', /AddressPool was removed in MetalLB v0\.14/],
  [{ apiVersion: 'metallb.io/v1alpha1', kind: 'IPAddressPool' }, 'error', /only metallb\.io\/v1beta1/],
  [{ apiVersion: V, kind: 'Frobnicator' }, 'error', /unknown MetalLB kind Frobnicator/],
  [{ apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status' }, 'note', /skipped/],
  [{ apiVersion: V, kind: 'ConfigurationState' }, 'note', /skipped/],
  [
    { apiVersion: 'v1', kind: 'ConfigMap', data: { config: 'address-pools: []' } },
    'error',
    /legacy ConfigMap/,
  ],
  [{ apiVersion: 'v1', kind: 'Service' }, 'warning', /not a MetalLB object \(v1\)/],
];

for (const [doc, severity, message] of OTHER_KINDS) {
  test(`${String(doc.apiVersion)} ${String(doc.kind)} is reported (${severity})`, (t) => {
    const m = migrate([{ ...doc, metadata: { name: 'x', namespace: 'metallb-system' } }]);
    t.is(m.objects.length, 0);
    t.is(m.findings.length, 1);
    t.is(m.findings[0]?.severity, severity);
    t.is(m.findings[0]?.subject, `${String(doc.kind)}/x`);
    t.regex(m.findings[0]?.message ?? '', message);
    t.is(m.failed, severity === 'error');
  });
}

test('a List (kubectl get -o yaml) is expanded; non-objects are errors', (t) => {
  const m = migrate([
    { apiVersion: 'v1', kind: 'List', items: [poolDoc({ addresses: ['10.0.0.0/24'] })] },
    'text',
  ]);
  t.is(m.objects.length, 1);
  t.deepEqual(issuesOf(m, 'error'), ['not carried over: not a Kubernetes object']);
});

test('pools come before advertisements; the Services note comes with any pool', (t) => {
  const m = migrate([adDoc({ ipAddressPools: ['p'] }), poolDoc({ addresses: ['10.0.0.0/24'] })]);
  t.deepEqual(
    m.objects.map((o) => o.kind),
    ['IPPool', 'L2Advertisement'],
  );
  const services = m.findings.find((f) => f.subject === 'Service/*');
  t.regex(services?.message ?? '', /Services need no change/);
  t.is(
    formatFinding({ severity: 'warning', subject: 'IPAddressPool/p', message: 'm' }),
    'migrate: IPAddressPool/p: warning: m',
  );
});

// ---- YAML ----

test('parseDocuments skips empty documents and reports the ones that are not YAML, with their line', (t) => {
  const text = [
    '# exported',
    '---',
    '---',
    'apiVersion: metallb.io/v1beta1',
    'kind: IPAddressPool',
    'metadata: {name: p}',
    'spec: {addresses: [10.0.0.0/24]}',
    '--- # trailing',
    '...',
    '---',
    'a: [',
    '--- {b: 1}',
  ].join('\n');
  const { docs, findings } = parseDocuments(text, 'in.yaml');
  t.is(docs.length, 2);
  t.deepEqual(docs[1], { b: 1 });
  t.is(findings.length, 1);
  t.is(findings[0]?.subject, 'in.yaml:10');
  t.regex(findings[0]?.message ?? '', /^not YAML: .*\(11:5\)/);
});

test('formatDocuments writes documents that parse back to the same objects', (t) => {
  const m = migrate([
    poolDoc({ addresses: ['10.0.0.0/24', 'fd00::/120'], autoAssign: false }, { labels: { on: 'yes' } }),
    adDoc(undefined),
  ]);
  const text = formatDocuments(m.objects);
  t.regex(text, /^---$/m);
  t.regex(text, /- \{\}/);
  t.deepEqual(parseDocuments(text).docs, JSON.parse(JSON.stringify(m.objects)) as unknown[]);
  t.is(formatDocuments([]), '');
});
