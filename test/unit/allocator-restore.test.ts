import test from 'ava';
import { Allocator, type PoolView } from '../../src/kube/allocator/index.ts';
import { dual, pool, svc, withStatus } from './allocator-fixtures.ts';

const big = pool('p', ['192.0.2.0/24']);

test('restore then assign: every existing assignment is unchanged, new Services get free addresses', (t) => {
  const a = new Allocator({ pools: [big] });
  const one = withStatus(svc('a'), ['192.0.2.7']);
  const two = withStatus(svc('b', dual), ['192.0.2.3']);
  const report = a.restore([one, two, svc('new')]);
  t.like(report, { restored: 2, conflicts: [], invalid: [] });
  // The new Service is assigned first and must not take a restored address.
  t.like(a.assign(svc('new')), { ips: ['192.0.2.0'] });
  t.like(a.assign(one), { kind: 'assigned', ips: ['192.0.2.7'], unchanged: true, released: [] });
  // b became RequireDualStack while the controller was down, the pool has no IPv6: it keeps its IPv4.
  t.like(a.assign(two), { kind: 'failed', reason: 'DualStackUnavailable', kept: ['192.0.2.3'] });
});

test('assign without restore adopts a free status IP instead of moving', (t) => {
  const a = new Allocator({ pools: [big] });
  t.like(a.assign(withStatus(svc('a'), ['192.0.2.9'])), { ips: ['192.0.2.9'], unchanged: true });
});

const shrinks: [string, PoolView[]][] = [
  ['the pool shrank', [pool('p', ['192.0.2.0/28'])]],
  ['the pool was deleted', []],
  ['the pool now avoids buggy IPs', [pool('p', ['192.0.2.0/24'], { avoidBuggyIPs: true })]],
];
for (const [name, pools] of shrinks) {
  test(`restore keeps an assignment outside the pools (${name}) and reports it`, (t) => {
    const a = new Allocator({ pools });
    const s = withStatus(svc('a'), ['192.0.2.255']);
    t.deepEqual(a.restore([s]).outsidePool, [{ service: 'default/a', ip: '192.0.2.255' }]);
    t.like(a.assign(s), {
      kind: 'assigned',
      ips: ['192.0.2.255'],
      pool: null,
      unchanged: true,
      outsidePool: ['192.0.2.255'],
      assignments: [{ ip: '192.0.2.255', family: 4, pool: null }],
    });
    // Nobody else gets it.
    t.not(a.assign(svc('b', { loadBalancerIP: '192.0.2.255' })).kind, 'assigned');
  });
}

const configChanges: [string, PoolView[]][] = [
  ['autoAssign turned off', [pool('p', ['192.0.2.0/24'], { autoAssign: false })]],
  ['namespaces restricted', [pool('p', ['192.0.2.0/24'], { namespaces: ['elsewhere'] })]],
  ['a better pool appeared', [big, pool('better', ['198.51.100.0/24'], { priority: 0 })]],
];
for (const [name, pools] of configChanges) {
  test(`restore keeps an assignment when ${name}`, (t) => {
    const a = new Allocator({ pools });
    const s = withStatus(svc('a'), ['192.0.2.40']);
    a.restore([s]);
    t.like(a.assign(s), { ips: ['192.0.2.40'], pool: 'p', unchanged: true });
  });
}

test('naming another pool is an intent change: the Service moves; an outside-pool IP stays with a named pool', (t) => {
  const a = new Allocator({ pools: [big, pool('q', ['198.51.100.0/24'])] });
  const s = withStatus(svc('a'), ['192.0.2.40']);
  a.restore([s]);
  t.like(a.assign({ ...s, annotations: { 'meshlb.io/address-pool': 'q' } }), {
    ips: ['198.51.100.0'],
    released: ['192.0.2.40'],
  });
  const o = withStatus(svc('o'), ['203.0.113.1']);
  a.restore([o]);
  t.like(a.assign({ ...o, annotations: { 'meshlb.io/address-pool': 'q' } }), {
    ips: ['203.0.113.1'],
    unchanged: true,
  });
});

test('a requested IP the Service holds stays when its pool shrinks', (t) => {
  const a = new Allocator({ pools: [pool('p', ['192.0.2.0/28'])] });
  const s = withStatus(svc('a', { loadBalancerIP: '192.0.2.200' }), ['192.0.2.200']);
  a.restore([s]);
  t.like(a.assign(s), { ips: ['192.0.2.200'], unchanged: true, outsidePool: ['192.0.2.200'] });
});

test('restore skips Services of other classes and other types, and reports junk', (t) => {
  const a = new Allocator({ pools: [big] });
  const report = a.restore([
    withStatus(svc('other', { loadBalancerClass: 'x' }), ['192.0.2.1']),
    withStatus(svc('np', { type: 'NodePort' }), ['192.0.2.2']),
    withStatus(svc('junk'), ['not-an-ip', '192.0.2.3', '192.0.2.4']),
  ]);
  t.deepEqual(report, {
    restored: 1,
    outsidePool: [],
    conflicts: [],
    invalid: [
      { service: 'default/junk', ip: 'not-an-ip' },
      { service: 'default/junk', ip: '192.0.2.4' },
    ],
  });
  t.deepEqual(a.table(), [{ service: 'default/junk', ips: ['192.0.2.3'] }]);
  // Addresses in other controllers' statuses are not ours to hold.
  t.like(a.assign(svc('new')), { ips: ['192.0.2.0'] });
  t.like(a.assign(svc('new2')), { ips: ['192.0.2.1'] });
  // The junk status is rewritten once.
  t.like(a.assign(withStatus(svc('junk'), ['not-an-ip', '192.0.2.3', '192.0.2.4'])), {
    ips: ['192.0.2.3'],
    unchanged: false,
  });
});

test('restore replaces the table', (t) => {
  const a = new Allocator({ pools: [big] });
  a.assign(svc('gone'));
  a.restore([withStatus(svc('a'), ['192.0.2.5'])]);
  t.deepEqual(a.table(), [{ service: 'default/a', ips: ['192.0.2.5'] }]);
  t.like(a.assign(svc('b')), { ips: ['192.0.2.0'] });
});

test('the status order is kept when nothing changes (no write)', (t) => {
  const a = new Allocator({ pools: [pool('p', ['192.0.2.0/24', '2001:db8::/120'])] });
  const s = withStatus(svc('a', dual), ['2001:DB8::7', '192.0.2.7']);
  a.restore([s]);
  t.like(a.assign(s), { ips: ['2001:DB8::7'.toLowerCase(), '192.0.2.7'], unchanged: true });
});

test('shared IPs are restored for every compatible holder', (t) => {
  const k = { 'meshlb.io/allow-shared-ip': 'k' };
  const u = withStatus(svc('u', { annotations: k, ports: [{ protocol: 'UDP', port: 53 }] }), ['192.0.2.5']);
  const v = withStatus(svc('v', { annotations: k, ports: [{ protocol: 'TCP', port: 53 }] }), ['192.0.2.5']);
  const a = new Allocator({ pools: [big] });
  t.like(a.restore([v, u]), { restored: 2, conflicts: [] });
  t.deepEqual(a.holdersOf('192.0.2.5'), ['default/u', 'default/v']);
});
