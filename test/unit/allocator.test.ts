import test, { type ExecutionContext } from 'ava';
import {
  Allocator,
  FAILURES,
  type AllocatorConfig,
  type Decision,
  type FailureReason,
  type PoolView,
  type ServiceView,
} from '../../src/kube/allocator/index.ts';
import { dual, pool, preferDual, svc } from './allocator-fixtures.ts';

const alloc = (pools: PoolView[], config: AllocatorConfig = {}): Allocator =>
  new Allocator({ pools, ...config });

function ips(t: ExecutionContext, d: Decision): readonly string[] {
  if (d.kind !== 'assigned') {
    t.fail(`expected assigned, got ${JSON.stringify(d)}`);
    return [];
  }
  return d.ips;
}

function failure(d: Decision): string {
  return d.kind === 'failed' ? d.reason : d.kind;
}

const net = pool('net', ['192.0.2.0/28']);
const net6 = pool('net6', ['2001:db8::/124']);
const both = pool('both', ['192.0.2.0/28', '2001:db8::/124']);

// ---- every failure reason ----

interface FailCase {
  pools: PoolView[];
  /** Assigned first, in order. */
  before?: ServiceView[];
  service: ServiceView;
  reason: FailureReason;
}

const failCases: [string, FailCase][] = [
  [
    'InvalidRequest: not an IP',
    {
      pools: [net],
      service: svc('a', { annotations: { 'meshlb.io/loadBalancerIPs': '192.0.2.300' } }),
      reason: 'InvalidRequest',
    },
  ],
  [
    'InvalidRequest: two IPv4 addresses',
    {
      pools: [net],
      service: svc('a', { annotations: { 'meshlb.io/loadBalancerIPs': '192.0.2.1,192.0.2.2' } }),
      reason: 'InvalidRequest',
    },
  ],
  [
    'InvalidRequest: an IPv6 address for an IPv4 single-stack Service',
    { pools: [both], service: svc('a', { loadBalancerIP: '2001:db8::1' }), reason: 'InvalidRequest' },
  ],
  [
    'InvalidRequest: two families for SingleStack',
    {
      pools: [both],
      service: svc('a', { annotations: { 'meshlb.io/loadBalancerIPs': '192.0.2.1,2001:db8::1' } }),
      reason: 'InvalidRequest',
    },
  ],
  [
    'InvalidRequest: one address for RequireDualStack',
    {
      pools: [both],
      service: svc('a', { ...dual, annotations: { 'meshlb.io/loadBalancerIPs': '192.0.2.1' } }),
      reason: 'InvalidRequest',
    },
  ],
  [
    'PoolNotFound',
    {
      pools: [net],
      service: svc('a', { annotations: { 'meshlb.io/address-pool': 'nope' } }),
      reason: 'PoolNotFound',
    },
  ],
  [
    'PoolNotAllowed: named pool for other namespaces',
    {
      pools: [pool('p', ['192.0.2.0/28'], { namespaces: ['other'] })],
      service: svc('a', { annotations: { 'meshlb.io/address-pool': 'p' } }),
      reason: 'PoolNotAllowed',
    },
  ],
  [
    'PoolNotAllowed: requested IP in a pool whose service selector does not match',
    {
      pools: [pool('p', ['192.0.2.0/28'], { serviceSelectors: [{ matchLabels: { tier: 'edge' } }] })],
      service: svc('a', { loadBalancerIP: '192.0.2.3' }),
      reason: 'PoolNotAllowed',
    },
  ],
  [
    'NoMatchingPool: only autoAssign=false pools',
    {
      pools: [pool('p', ['192.0.2.0/28'], { autoAssign: false })],
      service: svc('a'),
      reason: 'NoMatchingPool',
    },
  ],
  [
    'NoMatchingPool: namespace selector does not match',
    {
      pools: [pool('p', ['192.0.2.0/28'], { namespaceSelectors: [{ matchLabels: { env: 'prod' } }] })],
      service: svc('a', { namespaceLabels: { env: 'dev' } }),
      reason: 'NoMatchingPool',
    },
  ],
  [
    'NoMatchingPool: no admitting pool has the family',
    { pools: [net], service: svc('a', { ipFamilies: ['IPv6'] }), reason: 'NoMatchingPool' },
  ],
  [
    'RequestedIPOutsidePools',
    {
      pools: [net],
      service: svc('a', { loadBalancerIP: '198.51.100.1' }),
      reason: 'RequestedIPOutsidePools',
    },
  ],
  [
    'RequestedIPOutsidePools: not in the requested pool',
    {
      pools: [net, pool('other', ['198.51.100.0/28'])],
      service: svc('a', { loadBalancerIP: '198.51.100.1', annotations: { 'meshlb.io/address-pool': 'net' } }),
      reason: 'RequestedIPOutsidePools',
    },
  ],
  [
    'RequestedIPOutsidePools: .0 in an avoidBuggyIPs pool',
    {
      pools: [pool('p', ['192.0.2.0/24'], { avoidBuggyIPs: true })],
      service: svc('a', { loadBalancerIP: '192.0.2.0' }),
      reason: 'RequestedIPOutsidePools',
    },
  ],
  [
    'RequestedIPInUse: held without a sharing key',
    {
      pools: [net],
      before: [svc('x', { loadBalancerIP: '192.0.2.5' })],
      service: svc('a', { loadBalancerIP: '192.0.2.5' }),
      reason: 'RequestedIPInUse',
    },
  ],
  [
    'RequestedIPInUse: held under another key',
    {
      pools: [net],
      before: [svc('x', { loadBalancerIP: '192.0.2.5', annotations: { 'meshlb.io/allow-shared-ip': 'k1' } })],
      service: svc('a', { loadBalancerIP: '192.0.2.5', annotations: { 'meshlb.io/allow-shared-ip': 'k2' } }),
      reason: 'RequestedIPInUse',
    },
  ],
  [
    'IncompatibleSharing: same key, overlapping ports',
    {
      pools: [net],
      before: [svc('x', { loadBalancerIP: '192.0.2.5', annotations: { 'meshlb.io/allow-shared-ip': 'k' } })],
      service: svc('a', { loadBalancerIP: '192.0.2.5', annotations: { 'meshlb.io/allow-shared-ip': 'k' } }),
      reason: 'IncompatibleSharing',
    },
  ],
  [
    'IncompatibleSharing: same key, different externalTrafficPolicy',
    {
      pools: [net],
      before: [svc('x', { loadBalancerIP: '192.0.2.5', annotations: { 'meshlb.io/allow-shared-ip': 'k' } })],
      service: svc('a', {
        loadBalancerIP: '192.0.2.5',
        annotations: { 'meshlb.io/allow-shared-ip': 'k' },
        ports: [{ protocol: 'TCP', port: 443 }],
        externalTrafficPolicy: 'Local',
      }),
      reason: 'IncompatibleSharing',
    },
  ],
  [
    'DualStackUnavailable: RequireDualStack, pools of one family each',
    { pools: [net, net6], service: svc('a', dual), reason: 'DualStackUnavailable' },
  ],
  [
    'PoolExhausted',
    {
      pools: [pool('p', ['192.0.2.1-192.0.2.2'])],
      before: [svc('x'), svc('y')],
      service: svc('a'),
      reason: 'PoolExhausted',
    },
  ],
  [
    'PoolExhausted: RequireDualStack, the IPv6 side is full',
    {
      pools: [pool('p', ['192.0.2.0/28', '2001:db8::1-2001:db8::1'])],
      before: [svc('x', { ipFamilies: ['IPv6'] })],
      service: svc('a', dual),
      reason: 'PoolExhausted',
    },
  ],
];

for (const [name, c] of failCases) {
  test(`fails: ${name}`, (t) => {
    const a = alloc(c.pools);
    for (const b of c.before ?? []) t.is(a.assign(b).kind, 'assigned');
    const d = a.assign(c.service);
    t.is(failure(d), c.reason);
    if (d.kind === 'failed') t.true(d.message.length > 0);
  });
}

test('every failure reason has a description and a table case', (t) => {
  const covered = new Set(failCases.map(([, c]) => c.reason));
  for (const reason of Object.keys(FAILURES)) t.true(covered.has(reason as FailureReason), reason);
  for (const reason of Object.keys(FAILURES)) t.regex(reason, /^[A-Z][A-Za-z]+$/);
});

// ---- class and type ----

test('class filtering: no class configured serves only Services without a class', (t) => {
  const a = alloc([net]);
  t.is(a.assign(svc('a')).kind, 'assigned');
  const d = a.assign(svc('b', { loadBalancerClass: 'x' }));
  t.deepEqual(d, { kind: 'ignored', reason: 'OtherClass', released: [] });
});

test('class filtering: class X serves only class X', (t) => {
  const a = alloc([net], { loadBalancerClass: 'meshlb.io/l2' });
  t.like(a.assign(svc('a')), { kind: 'ignored', reason: 'OtherClass' });
  t.like(a.assign(svc('b', { loadBalancerClass: 'other' })), { kind: 'ignored', reason: 'OtherClass' });
  t.like(a.assign(svc('c', { loadBalancerClass: 'meshlb.io/l2' })), { kind: 'assigned', ips: ['192.0.2.0'] });
});

test('type change away from LoadBalancer releases, and the IP is reusable at once', (t) => {
  const a = alloc([pool('p', ['192.0.2.1-192.0.2.1'])]);
  t.like(a.assign(svc('a')), { ips: ['192.0.2.1'] });
  t.like(a.assign(svc('b')), { reason: 'PoolExhausted' });
  t.deepEqual(a.assign(svc('a', { type: 'ClusterIP' })), {
    kind: 'ignored',
    reason: 'NotLoadBalancer',
    released: ['192.0.2.1'],
  });
  t.like(a.assign(svc('b')), { kind: 'assigned', ips: ['192.0.2.1'] });
});

test('class change releases', (t) => {
  const a = alloc([net]);
  t.like(a.assign(svc('a')), { ips: ['192.0.2.0'] });
  t.like(a.assign(svc('a', { loadBalancerClass: 'other' })), { kind: 'ignored', released: ['192.0.2.0'] });
  t.deepEqual(a.table(), []);
});

// ---- release and reuse ----

test('release frees the IP, and the lowest free address is handed out next', (t) => {
  const a = alloc([net]);
  for (const n of ['a', 'b', 'c']) a.assign(svc(n));
  t.deepEqual(a.release('default/b'), ['192.0.2.1']);
  t.deepEqual(a.release('default/b'), []);
  t.like(a.assign(svc('d')), { ips: ['192.0.2.1'] });
  t.like(a.assign(svc('e')), { ips: ['192.0.2.3'] });
});

test('a Service recreated under the same name (new uid) is a new Service', (t) => {
  const a = alloc([net]);
  a.assign(svc('a', { loadBalancerIP: '192.0.2.9' }));
  const d = a.assign(svc('a', { uid: 'new' }));
  t.like(d, { kind: 'assigned', ips: ['192.0.2.0'], released: ['192.0.2.9'] });
});

// ---- precedence of requests ----

const precedence: [string, Record<string, string>, string | undefined, string][] = [
  [
    'meshlb annotation beats everything',
    {
      'meshlb.io/loadBalancerIPs': '192.0.2.1',
      'metallb.io/loadBalancerIPs': '192.0.2.3',
      'metallb.universe.tf/loadBalancerIPs': '192.0.2.4',
    },
    '192.0.2.2',
    '192.0.2.1',
  ],
  [
    'spec.loadBalancerIP beats MetalLB annotations',
    { 'metallb.io/loadBalancerIPs': '192.0.2.3', 'metallb.universe.tf/loadBalancerIPs': '192.0.2.4' },
    '192.0.2.2',
    '192.0.2.2',
  ],
  [
    'metallb.io beats metallb.universe.tf',
    { 'metallb.io/loadBalancerIPs': '192.0.2.3', 'metallb.universe.tf/loadBalancerIPs': '192.0.2.4' },
    undefined,
    '192.0.2.3',
  ],
  [
    'metallb.universe.tf alone',
    { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.4' },
    undefined,
    '192.0.2.4',
  ],
  [
    'an empty annotation is not set: the next source counts',
    { 'meshlb.io/loadBalancerIPs': ' ' },
    '192.0.2.2',
    '192.0.2.2',
  ],
  ['nothing requested: auto-assign', {}, undefined, '192.0.2.0'],
];

for (const [name, annotations, specIp, expected] of precedence) {
  test(`request precedence: ${name}`, (t) => {
    const over: Partial<ServiceView> = { annotations };
    if (specIp !== undefined) over.loadBalancerIP = specIp;
    t.deepEqual(ips(t, alloc([net]).assign(svc('a', over))), [expected]);
  });
}

test('pool annotation precedence: meshlb.io, then metallb.io, then metallb.universe.tf', (t) => {
  const pools = [pool('a', ['192.0.2.0/30']), pool('b', ['192.0.2.4/30']), pool('c', ['192.0.2.8/30'])];
  const cases: [Record<string, string>, string][] = [
    [
      {
        'meshlb.io/address-pool': 'a',
        'metallb.io/address-pool': 'b',
        'metallb.universe.tf/address-pool': 'c',
      },
      'a',
    ],
    [{ 'metallb.io/address-pool': 'b', 'metallb.universe.tf/address-pool': 'c' }, 'b'],
    [{ 'metallb.universe.tf/address-pool': 'c' }, 'c'],
  ];
  for (const [annotations, expected] of cases)
    t.like(alloc(pools).assign(svc('s', { annotations })), { pool: expected });
});

test('requested IPs are normalised and written primary family first', (t) => {
  const d = alloc([both]).assign(
    svc('a', { ...dual, annotations: { 'meshlb.io/loadBalancerIPs': ' 2001:DB8:0::0005 , 192.0.2.5 ' } }),
  );
  t.deepEqual(ips(t, d), ['192.0.2.5', '2001:db8::5']);
});

test('a requested IP in an autoAssign=false pool is granted', (t) => {
  const d = alloc([pool('manual', ['192.0.2.0/28'], { autoAssign: false })]).assign(
    svc('a', { loadBalancerIP: '192.0.2.7' }),
  );
  t.like(d, { kind: 'assigned', ips: ['192.0.2.7'], pool: 'manual' });
});

test('a named autoAssign=false pool is used', (t) => {
  const a = alloc([net, pool('manual', ['198.51.100.0/28'], { autoAssign: false })]);
  t.like(a.assign(svc('a', { annotations: { 'meshlb.io/address-pool': 'manual' } })), {
    ips: ['198.51.100.0'],
  });
  t.like(a.assign(svc('b')), { pool: 'net' });
});

test('changing the request moves the Service; a failed request keeps what it has', (t) => {
  const a = alloc([net]);
  t.like(a.assign(svc('a')), { ips: ['192.0.2.0'] });
  const moved = a.assign(svc('a', { loadBalancerIP: '192.0.2.9', currentIPs: ['192.0.2.0'] }));
  t.like(moved, { kind: 'assigned', ips: ['192.0.2.9'], unchanged: false, released: ['192.0.2.0'] });
  // Another controller writes spec.loadBalancerIP outside the pools: fail, keep, write nothing.
  const outside = a.assign(svc('a', { loadBalancerIP: '203.0.113.1', currentIPs: ['192.0.2.9'] }));
  t.like(outside, { kind: 'failed', reason: 'RequestedIPOutsidePools', kept: ['192.0.2.9'], released: [] });
  t.deepEqual(a.holdersOf('192.0.2.9'), ['default/a']);
});

// ---- sharing ----

const key = (k: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'meshlb.io/allow-shared-ip': k,
  ...extra,
});
const udp53 = [{ protocol: 'UDP', port: 53 }];
const tcp53 = [{ protocol: 'TCP', port: 53 }];

test('sharing: same key, disjoint ports, same policy share the requested IP', (t) => {
  const a = alloc([net]);
  t.like(a.assign(svc('dns-udp', { ports: udp53, loadBalancerIP: '192.0.2.5', annotations: key('dns') })), {
    ips: ['192.0.2.5'],
  });
  t.like(a.assign(svc('dns-tcp', { ports: tcp53, loadBalancerIP: '192.0.2.5', annotations: key('dns') })), {
    ips: ['192.0.2.5'],
  });
  t.deepEqual(a.holdersOf('192.0.2.5'), ['default/dns-tcp', 'default/dns-udp']);
  // Releasing one leaves the IP with the other.
  a.release('default/dns-udp');
  t.deepEqual(a.holdersOf('192.0.2.5'), ['default/dns-tcp']);
  t.like(a.assign(svc('x')), { ips: ['192.0.2.0'] });
});

test('sharing: auto-assign joins a compatible IP with the same key', (t) => {
  const a = alloc([net]);
  a.assign(svc('first'));
  a.assign(svc('dns-udp', { ports: udp53, annotations: key('dns') }));
  t.like(a.assign(svc('dns-tcp', { ports: tcp53, annotations: key('dns') })), { ips: ['192.0.2.1'] });
  // Same key but overlapping ports: a fresh address instead.
  t.like(a.assign(svc('dns-tcp2', { ports: tcp53, annotations: key('dns') })), { ips: ['192.0.2.2'] });
});

test('sharing: MetalLB sharing annotations count, meshlb.io first', (t) => {
  const a = alloc([net]);
  a.assign(svc('a', { ports: udp53, annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' } }));
  t.like(a.assign(svc('b', { ports: tcp53, annotations: { 'metallb.io/allow-shared-ip': 'k' } })), {
    ips: ['192.0.2.0'],
  });
  t.like(
    a.assign(
      svc('c', {
        ports: [{ protocol: 'TCP', port: 8080 }],
        annotations: { 'meshlb.io/allow-shared-ip': 'other', 'metallb.io/allow-shared-ip': 'k' },
      }),
    ),
    { ips: ['192.0.2.1'] },
  );
});

test('sharing: keys are scoped to the namespace unless crossNamespaceSharing is on', (t) => {
  for (const [cross, expected] of [
    [false, 'RequestedIPInUse'],
    [true, 'assigned'],
  ] as const) {
    const a = alloc([net], { crossNamespaceSharing: cross });
    a.assign(svc('a/one', { ports: udp53, loadBalancerIP: '192.0.2.5', annotations: key('k') }));
    t.is(
      failure(a.assign(svc('b/two', { ports: tcp53, loadBalancerIP: '192.0.2.5', annotations: key('k') }))),
      expected,
    );
  }
});

test('sharing: a Service that breaks its sharing moves; the other keeps the IP', (t) => {
  const a = alloc([net]);
  a.assign(svc('a', { ports: udp53, loadBalancerIP: '192.0.2.5', annotations: key('k') }));
  a.assign(svc('b', { ports: tcp53, annotations: key('k') }));
  t.deepEqual(a.holdersOf('192.0.2.5'), ['default/a', 'default/b']);
  const d = a.assign(svc('b', { ports: udp53, annotations: key('k'), currentIPs: ['192.0.2.5'] }));
  t.like(d, { kind: 'assigned', ips: ['192.0.2.0'], released: ['192.0.2.5'] });
  t.deepEqual(a.holdersOf('192.0.2.5'), ['default/a']);
});

test('sharing: the older holder keeps the IP on restore; the younger gets another', (t) => {
  const old = svc('old', { creationTimestamp: 1, currentIPs: ['192.0.2.5'] });
  const young = svc('young', { creationTimestamp: 2, currentIPs: ['192.0.2.5'] });
  for (const order of [
    [old, young],
    [young, old],
  ]) {
    const a = alloc([net]);
    const report = a.restore(order);
    t.deepEqual(report.conflicts, [{ service: 'default/young', ip: '192.0.2.5', heldBy: ['default/old'] }]);
    t.like(a.assign(old), { unchanged: true });
    t.like(a.assign(young), { ips: ['192.0.2.0'], unchanged: false });
  }
});

test('requested IP conflicts in a batch: the older Service gets it, whatever the input order', (t) => {
  const old = svc('old', { creationTimestamp: 1, loadBalancerIP: '192.0.2.5' });
  const young = svc('young', { creationTimestamp: 2, loadBalancerIP: '192.0.2.5' });
  const auto = svc('auto', { creationTimestamp: 0 });
  for (const order of [
    [young, old, auto],
    [auto, old, young],
  ]) {
    const out = alloc([pool('p', ['192.0.2.5-192.0.2.6'])]).assignAll(order);
    t.like(out.get('default/old'), { ips: ['192.0.2.5'] });
    t.like(out.get('default/young'), { reason: 'RequestedIPInUse' });
    t.like(out.get('default/auto'), { ips: ['192.0.2.6'] });
  }
});

// ---- dual-stack ----

test('dual-stack: RequireDualStack gets one of each family from one pool', (t) => {
  const d = alloc([net, net6, both]).assign(svc('a', dual));
  t.like(d, { kind: 'assigned', ips: ['192.0.2.0', '2001:db8::'], pool: 'both', missingFamilies: [] });
});

test('dual-stack: IPv6 primary is written first', (t) => {
  t.like(alloc([both]).assign(svc('a', { ...dual, ipFamilies: ['IPv6', 'IPv4'] })), {
    ips: ['2001:db8::', '192.0.2.0'],
  });
});

test('dual-stack: PreferDualStack takes what it can and says what is missing', (t) => {
  t.like(alloc([net]).assign(svc('a', preferDual)), { ips: ['192.0.2.0'], missingFamilies: ['IPv6'] });
  t.like(alloc([net6]).assign(svc('a', preferDual)), { ips: ['2001:db8::'], missingFamilies: ['IPv4'] });
  // A dual-stack pool wins over a more preferred single-family one.
  const pools = [
    pool('v4first', ['198.51.100.0/28'], { priority: 1 }),
    pool('dual', ['192.0.2.0/28', '2001:db8::/124'], { priority: 5 }),
  ];
  t.like(alloc(pools).assign(svc('a', preferDual)), { pool: 'dual', missingFamilies: [] });
});

test('dual-stack: PreferDualStack on a single-stack cluster (one family listed) gets one', (t) => {
  t.like(alloc([both]).assign(svc('a', { ipFamilies: ['IPv4'], ipFamilyPolicy: 'PreferDualStack' })), {
    ips: ['192.0.2.0'],
    missingFamilies: [],
  });
});

test('dual-stack: SingleStack takes the first listed family; default IPv4', (t) => {
  t.like(alloc([both]).assign(svc('a', { ipFamilies: ['IPv6'] })), { ips: ['2001:db8::'] });
  t.like(alloc([both]).assign(svc('a', { ipFamilies: [] })), { ips: ['192.0.2.0'] });
  t.like(alloc([both]).assign(svc('a', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'SingleStack' })), {
    ips: ['2001:db8::'],
  });
});

test('dual-stack: upgrading SingleStack to RequireDualStack keeps the IPv4 and adds an IPv6 from its pool', (t) => {
  const a = alloc([net6, both]);
  t.like(a.assign(svc('a')), { ips: ['192.0.2.0'] });
  t.like(a.assign(svc('a', { ...dual, currentIPs: ['192.0.2.0'] })), {
    ips: ['192.0.2.0', '2001:db8::'],
    pool: 'both',
    released: [],
  });
  // And back to single stack: the IPv6 goes.
  t.like(a.assign(svc('a', { currentIPs: ['192.0.2.0', '2001:db8::'] })), {
    ips: ['192.0.2.0'],
    released: ['2001:db8::'],
  });
});

test('dual-stack: RequireDualStack cannot complete in its pool, so it moves to one that has both', (t) => {
  const a = alloc([
    pool('net', ['192.0.2.0/28'], { priority: 1 }),
    pool('both2', ['198.51.100.0/28', '2001:db8::/124'], { priority: 9 }),
  ]);
  t.like(a.assign(svc('a')), { ips: ['192.0.2.0'], pool: 'net' });
  t.like(a.assign(svc('a', { ...dual, currentIPs: ['192.0.2.0'] })), {
    ips: ['198.51.100.0', '2001:db8::'],
    released: ['192.0.2.0'],
  });
});

// ---- several addresses per family (meshlb.io/address-count) ----

const count = (n: string, over: Partial<ServiceView> = {}): Partial<ServiceView> => ({
  ...over,
  annotations: { 'meshlb.io/address-count': n, ...over.annotations },
});

test('address-count: N addresses of each family from one pool, all in the status, lowest first', (t) => {
  t.like(alloc([both]).assign(svc('a', count('3'))), { ips: ['192.0.2.0', '192.0.2.1', '192.0.2.2'] });
  t.like(alloc([net6, both]).assign(svc('a', count('2', dual))), {
    ips: ['192.0.2.0', '192.0.2.1', '2001:db8::', '2001:db8::1'],
    pool: 'both',
    missingFamilies: [],
  });
});

test('address-count: raised, the Service keeps what it has and gets the rest; lowered, it releases the highest', (t) => {
  const a = alloc([net]);
  t.like(a.assign(svc('b')), { ips: ['192.0.2.0'] });
  t.like(a.assign(svc('a')), { ips: ['192.0.2.1'] });
  t.like(a.assign(svc('a', count('3', { currentIPs: ['192.0.2.1'] }))), {
    ips: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    released: [],
  });
  t.like(a.assign(svc('a', count('1', { currentIPs: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] }))), {
    ips: ['192.0.2.1'],
    released: ['192.0.2.2', '192.0.2.3'],
  });
  t.like(a.assign(svc('c')), { ips: ['192.0.2.2'] }, 'released addresses are free again at once');
});

test('address-count: a pool without N free addresses refuses with PoolExhausted and says so; nothing is held', (t) => {
  const small = pool('small', ['192.0.2.0/30']);
  const a = alloc([small]);
  t.like(a.assign(svc('b')), { ips: ['192.0.2.0'] });
  const d = a.assign(svc('a', count('4')));
  t.like(d, { kind: 'failed', reason: 'PoolExhausted' });
  t.regex(d.kind === 'failed' ? d.message : '', /address-count is 4: fewer than 4 free IPv4 addresses/);
  t.like(
    a.assign(svc('c', count('3'))),
    { ips: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] },
    'the failed picks were not held',
  );
});

test('address-count: a bad value, or requested addresses that do not match it, is InvalidRequest', (t) => {
  const bad = (annotations: Record<string, string>): string => {
    const d = alloc([both]).assign(svc('a', { annotations }));
    return d.kind === 'failed' && d.reason === 'InvalidRequest' ? d.message : `not refused: ${d.kind}`;
  };
  t.regex(bad({ 'meshlb.io/address-count': '0' }), /address-count: "0" must be a whole number from 1 to 8/);
  t.regex(bad({ 'meshlb.io/address-count': '9' }), /from 1 to 8/);
  t.regex(bad({ 'meshlb.io/address-count': 'two' }), /from 1 to 8/);
  t.regex(
    bad({ 'meshlb.io/address-count': '2', 'meshlb.io/loadBalancerIPs': '192.0.2.5' }),
    /address-count is 2: list 2 IPv4 addresses, or none/,
  );
  t.regex(
    bad({ 'meshlb.io/address-count': '2', 'meshlb.io/loadBalancerIPs': '192.0.2.5,192.0.2.5' }),
    /listed twice/,
  );
  t.like(
    alloc([both]).assign(
      svc('a', {
        annotations: { 'meshlb.io/address-count': '2', 'meshlb.io/loadBalancerIPs': '192.0.2.9,192.0.2.5' },
      }),
    ),
    { kind: 'assigned', ips: ['192.0.2.5', '192.0.2.9'] },
  );
});

test('address-count: Services sharing a key share their addresses', (t) => {
  const a = alloc([net]);
  const shared = { 'meshlb.io/allow-shared-ip': 'k', 'meshlb.io/address-count': '2' };
  t.like(a.assign(svc('a', { annotations: shared })), { ips: ['192.0.2.0', '192.0.2.1'] });
  t.like(a.assign(svc('b', { annotations: shared, ports: [{ protocol: 'TCP', port: 443 }] })), {
    ips: ['192.0.2.0', '192.0.2.1'],
  });
});

// ---- avoidBuggyIPs ----

test('avoidBuggyIPs skips .0 and .255, across /24 boundaries', (t) => {
  const a = alloc([pool('p', ['192.0.2.254-192.0.3.1'], { avoidBuggyIPs: true })]);
  t.deepEqual(ips(t, a.assign(svc('a'))), ['192.0.2.254']);
  t.deepEqual(ips(t, a.assign(svc('b'))), ['192.0.3.1']);
  t.like(a.assign(svc('c')), { reason: 'PoolExhausted' });
  t.like(a.counts()[0], { ipv4: { assigned: 2n, available: 0n } });
});

test('without avoidBuggyIPs .0 is handed out', (t) => {
  t.deepEqual(ips(t, alloc([pool('p', ['192.0.2.0/24'])]).assign(svc('a'))), ['192.0.2.0']);
});

// ---- priorities and selectors ----

test('priority: lower first, unset last, ties by name', (t) => {
  const pools = [
    pool('z-unset', ['203.0.113.0/30']),
    pool('a-unset', ['203.0.113.4/30']),
    pool('p5', ['198.51.100.0/30'], { priority: 5 }),
    pool('b-p1', ['192.0.2.4/30'], { priority: 1 }),
    pool('a-p1', ['192.0.2.0/30'], { priority: 1 }),
  ];
  const a = alloc(pools);
  const order = Array.from({ length: 20 }, (_, i) => a.assign(svc(`s${i}`)))
    .map((d) => (d.kind === 'assigned' ? d.pool : null))
    .filter((p, i, all) => all[i - 1] !== p);
  t.deepEqual(order, ['a-p1', 'b-p1', 'p5', 'a-unset', 'z-unset']);
  t.deepEqual(
    a.counts().map((c) => c.pool),
    ['a-p1', 'b-p1', 'p5', 'a-unset', 'z-unset'],
  );
});

test('selectors: namespaces or namespace selectors admit; service selectors must match', (t) => {
  const pools = [
    pool('team', ['192.0.2.0/30'], {
      priority: 1,
      namespaces: ['team-a'],
      namespaceSelectors: [{ matchLabels: { team: 'b' } }],
    }),
    pool('edge', ['192.0.2.4/30'], {
      priority: 2,
      serviceSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] }],
    }),
    pool('rest', ['192.0.2.8/30'], { priority: 3 }),
  ];
  const cases: [Partial<ServiceView> & { namespace: string }, string][] = [
    [{ namespace: 'team-a' }, 'team'],
    [{ namespace: 'other', namespaceLabels: { team: 'b' } }, 'team'],
    [{ namespace: 'other', labels: { tier: 'edge' } }, 'edge'],
    [{ namespace: 'other', labels: { tier: 'web' } }, 'rest'],
  ];
  for (const [over, expected] of cases) {
    t.like(alloc(pools).assign(svc(`${over.namespace}/s`, over)), { pool: expected }, JSON.stringify(over));
  }
});

// ---- counts ----

test('counts: assigned and available per family, bigint for a /64', (t) => {
  const a = alloc([pool('p', ['192.0.2.0/24', '2001:db8::/64'])]);
  a.assign(svc('a', dual));
  a.assign(svc('b'));
  t.deepEqual(a.counts(), [
    { pool: 'p', ipv4: { assigned: 2n, available: 254n }, ipv6: { assigned: 1n, available: 2n ** 64n - 1n } },
  ]);
});

test('counts: a restored IP outside every pool counts in none', (t) => {
  const a = alloc([net]);
  a.restore([svc('a', { currentIPs: ['203.0.113.9'] })]);
  t.deepEqual(a.counts(), [
    { pool: 'net', ipv4: { assigned: 0n, available: 16n }, ipv6: { assigned: 0n, available: 0n } },
  ]);
});
