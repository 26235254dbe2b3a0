// The pure core of the speaker's view: API objects in, the election's World out.
// Every rule is a row of a table.
import test from 'ava';
import type { V1Endpoint, V1Node, V1Service } from '@kubernetes/client-node';
import type { NodeView, ServiceIp } from '../../src/election/index.ts';
import {
  analyseWorld,
  buildWorld,
  endpointServes,
  localEndpoints,
  poolIndex,
  serviceIps,
  toNodeView,
  type UnannouncedIp,
} from '../../src/kube/world/index.ts';
import { parseIp } from '../../src/ip/index.ts';
import { advertisement, endpoint, FOREIGN, node, pool, service, slice } from './kube-world-fixtures.ts';
import { readyNode } from '../../lab/testbed/election-world.ts';

const base: NodeView = readyNode('n1');

const nodeRows: [string, V1Node, Partial<NodeView>][] = [
  ['Ready=True', node('n1'), {}],
  ['Ready=False', node('n1', { ready: 'False' }), { ready: 'False' }],
  ['Ready=Unknown', node('n1', { ready: 'Unknown' }), { ready: 'Unknown' }],
  ['no Ready condition reads Unknown', node('n1', { ready: undefined }), { ready: 'Unknown' }],
  ['an unknown status reads Unknown', node('n1', { ready: 'Maybe' }), { ready: 'Unknown' }],
  [
    'NetworkUnavailable=True',
    node('n1', { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] }),
    { networkUnavailable: true },
  ],
  [
    'NetworkUnavailable=False',
    node('n1', { conditions: [{ type: 'NetworkUnavailable', status: 'False' }] }),
    {},
  ],
  ['deletionTimestamp as a Date', node('n1', { deleting: new Date(0) }), { deleting: true }],
  ['deletionTimestamp as a string', node('n1', { deleting: '2025-01-01T00:00:00Z' }), { deleting: true }],
  ['cordoned', node('n1', { unschedulable: true }), { unschedulable: true }],
  ['unschedulable: false', node('n1', { unschedulable: false }), {}],
  [
    'taint keys of every effect, deduplicated and sorted',
    node('n1', {
      taints: [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
        { key: 'example.com/gpu', effect: 'PreferNoSchedule' },
      ],
    }),
    { taints: ['example.com/gpu', 'node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'] },
  ],
  [
    'labels (the exclude label among them)',
    node('n1', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }),
    { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } },
  ],
];

for (const [what, input, expected] of nodeRows) {
  test(`toNodeView: ${what}`, (t) => {
    t.deepEqual(toNodeView(input), { ...base, ...expected });
  });
}

const endpointRows: [V1Endpoint['conditions'], boolean][] = [
  [undefined, true], // unset conditions: ready reads true
  [{}, true],
  [{ ready: true }, true],
  [{ ready: true, serving: true, terminating: false }, true],
  [{ ready: false }, false],
  [{ ready: false, serving: true }, false], // not ready and not terminating: no
  [{ ready: false, serving: true, terminating: true }, true], // draining Pod still serves
  [{ ready: false, terminating: true }, true], // serving unset reads true
  [{ ready: false, serving: false, terminating: true }, false],
];

for (const [conditions, expected] of endpointRows) {
  test(`endpointServes: ${JSON.stringify(conditions ?? null)} → ${expected}`, (t) => {
    t.is(
      endpointServes({ addresses: ['10.0.0.1'], ...(conditions === undefined ? {} : { conditions }) }),
      expected,
    );
  });
}

test('localEndpoints: grouped by Service and family; unattributable endpoints and slices count for nothing', (t) => {
  const out = localEndpoints([
    slice('web', 'a', [endpoint('n1'), endpoint('n2', { ready: false })], 'IPv4', 'a-1'),
    slice('web', 'a', [endpoint('n3'), endpoint(undefined)], 'IPv4', 'a-2'),
    slice('web', 'a', [endpoint('n4')], 'IPv6', 'a-3'),
    slice('web', 'a', [endpoint('n5')], 'FQDN', 'a-4'),
    slice('web', undefined, [endpoint('n6')]),
    slice('shop', 'a', [endpoint('n7')]),
  ]);
  t.deepEqual([...out.keys()].sort(), ['shop/a', 'web/a']);
  t.deepEqual([...(out.get('web/a')?.[4] ?? [])].sort(), ['n1', 'n3']);
  t.deepEqual([...(out.get('web/a')?.[6] ?? [])], ['n4']);
  t.deepEqual([...(out.get('shop/a')?.[4] ?? [])], ['n7']);
});

test('localEndpoints: nodes with a ready endpoint; terminating ones that serve only while no node has a ready one', (t) => {
  const draining = { ready: false, serving: true, terminating: true };
  const out = localEndpoints([
    // A rollout: n1's Pod terminates, n2's is ready: only n2 may announce.
    slice('web', 'a', [endpoint('n1', draining), endpoint('n2')], 'IPv4', 'a-1'),
    // Every Pod terminating (scaled to nothing): the ones still serving keep it.
    slice(
      'web',
      'a',
      [endpoint('n3', draining), endpoint('n4', { ...draining, serving: false })],
      'IPv6',
      'a-2',
    ),
    // Not ready and not terminating (starting up): nowhere.
    slice('web', 'b', [endpoint('n5', { ready: false })], 'IPv4', 'b-1'),
  ]);
  t.deepEqual([...(out.get('web/a')?.[4] ?? [])], ['n2']);
  t.deepEqual([...(out.get('web/a')?.[6] ?? [])], ['n3']);
  t.deepEqual([...(out.get('web/b')?.[4] ?? [])], []);
});

test('poolIndex: the accepted pool of an overlap wins; an address only the refused pool has stays in it', (t) => {
  const idx = poolIndex([
    pool('later', ['10.0.0.0/28'], '2025-02-01T00:00:00Z'),
    pool('older', ['10.0.0.0/29'], '2025-01-01T00:00:00Z'),
    pool('v6', ['fd00::/120']),
    pool('broken', ['not-an-address']),
  ]);
  const of = (ip: string) => {
    const parsed = parseIp(ip);
    return parsed === undefined ? 'invalid' : idx.poolOf(parsed);
  };
  t.is(of('10.0.0.3'), 'older'); // in both: the accepted (older) pool
  t.is(of('10.0.0.12'), 'later'); // only in the refused pool
  t.is(of('fd00::7'), 'v6');
  t.is(of('10.0.1.1'), undefined);
  t.is(of('fd00::1:0'), undefined);
});

const pools = [pool('p4', ['198.51.100.0/24']), pool('p6', ['2001:db8::/120'])];

interface ServiceRow {
  what: string;
  services: V1Service[];
  slices?: ReturnType<typeof slice>[];
  ips: ServiceIp[];
  unannounced?: UnannouncedIp[];
}

const set = (...nodes: string[]): ReadonlySet<string> => new Set(nodes);

const serviceRows: ServiceRow[] = [
  {
    what: 'a status the controller wrote is announced, with its pool',
    services: [service('web', 'a', ['198.51.100.7'])],
    ips: [{ ip: '198.51.100.7', pool: 'p4' }],
  },
  {
    what: 'a status another field manager wrote is not',
    services: [service('web', 'a', ['198.51.100.7'], { managed: [FOREIGN] })],
    ips: [],
    unannounced: [{ service: 'web/a', ip: '198.51.100.7', reason: 'StatusNotOwned' }],
  },
  {
    what: 'nor a status without managedFields',
    services: [service('web', 'a', ['198.51.100.7'], { managed: [] })],
    ips: [],
    unannounced: [{ service: 'web/a', ip: '198.51.100.7', reason: 'StatusNotOwned' }],
  },
  {
    what: 'nor a Service that is no longer a LoadBalancer',
    services: [service('web', 'a', ['198.51.100.7'], { type: 'ClusterIP' })],
    ips: [],
    unannounced: [{ service: 'web/a', ip: '198.51.100.7', reason: 'NotLoadBalancer' }],
  },
  {
    what: 'nor an address no pool contains',
    services: [service('web', 'a', ['192.0.2.1', '198.51.100.7'])],
    ips: [{ ip: '198.51.100.7', pool: 'p4' }],
    unannounced: [{ service: 'web/a', ip: '192.0.2.1', reason: 'NotInPool' }],
  },
  {
    what: 'nor text that is no address (an IPv4-mapped one neither)',
    services: [service('web', 'a', ['198.51.100.300', '::ffff:198.51.100.7'])],
    ips: [],
    unannounced: [
      { service: 'web/a', ip: '198.51.100.300', reason: 'InvalidIp' },
      { service: 'web/a', ip: '::ffff:198.51.100.7', reason: 'InvalidIp' },
    ],
  },
  {
    what: 'an address is announced in canonical form',
    services: [service('web', 'a', ['2001:DB8:0::A'])],
    ips: [{ ip: '2001:db8::a', pool: 'p6' }],
  },
  {
    what: 'a Service without ingress gives nothing',
    services: [service('web', 'a', [])],
    ips: [],
  },
  {
    what: 'Services sharing an IP give one entry; IPs sorted IPv4 first, by value',
    services: [
      service('web', 'b', ['2001:db8::1', '198.51.100.10']),
      service('web', 'a', ['198.51.100.10', '198.51.100.9']),
    ],
    ips: [
      { ip: '198.51.100.9', pool: 'p4', group: 'web/a/ipv4' },
      { ip: '198.51.100.10', pool: 'p4', group: 'web/a/ipv4' },
      { ip: '2001:db8::1', pool: 'p6' },
    ],
  },
  {
    what: 'Local: the nodes with a ready endpoint (a terminating one only while none is ready)',
    services: [service('web', 'a', ['198.51.100.7'], { local: true })],
    slices: [
      slice('web', 'a', [
        endpoint('n1'),
        endpoint('n2', { ready: false }),
        endpoint('n3', { ready: false, serving: true, terminating: true }),
      ]),
    ],
    ips: [{ ip: '198.51.100.7', pool: 'p4', localEndpointNodes: set('n1') }],
  },
  {
    what: 'Local without any EndpointSlice: no node',
    services: [service('web', 'a', ['198.51.100.7'], { local: true })],
    ips: [{ ip: '198.51.100.7', pool: 'p4', localEndpointNodes: set() }],
  },
  {
    what: 'Local, dual-stack: each address counts the endpoints of its own family',
    services: [service('web', 'a', ['198.51.100.7', '2001:db8::7'], { local: true })],
    slices: [slice('web', 'a', [endpoint('n1')], 'IPv4'), slice('web', 'a', [endpoint('n2')], 'IPv6')],
    ips: [
      { ip: '198.51.100.7', pool: 'p4', localEndpointNodes: set('n1') },
      { ip: '2001:db8::7', pool: 'p6', localEndpointNodes: set('n2') },
    ],
  },
  {
    what: 'Local Services sharing an IP: only nodes with endpoints of every one of them',
    services: [
      service('web', 'a', ['198.51.100.7'], { local: true }),
      service('web', 'b', ['198.51.100.7'], { local: true }),
    ],
    slices: [
      slice('web', 'a', [endpoint('n1'), endpoint('n2')]),
      slice('web', 'b', [endpoint('n2'), endpoint('n3')]),
    ],
    ips: [{ ip: '198.51.100.7', pool: 'p4', localEndpointNodes: set('n2') }],
  },
  {
    what: 'a Cluster Service sharing with a Local one adds no constraint',
    services: [service('web', 'a', ['198.51.100.7'], { local: true }), service('web', 'b', ['198.51.100.7'])],
    slices: [slice('web', 'a', [endpoint('n1')]), slice('web', 'b', [endpoint('n2')])],
    ips: [{ ip: '198.51.100.7', pool: 'p4', localEndpointNodes: set('n1') }],
  },
  {
    what: 'a foreign-owned Local Service on the IP does not constrain it either',
    services: [
      service('web', 'a', ['198.51.100.7']),
      service('web', 'b', ['198.51.100.7'], { local: true, managed: [FOREIGN] }),
    ],
    ips: [{ ip: '198.51.100.7', pool: 'p4' }],
    unannounced: [{ service: 'web/b', ip: '198.51.100.7', reason: 'StatusNotOwned' }],
  },
  {
    what: 'several IPs of one family (meshlb.io/address-count) form a group, per family; one IP alone none',
    services: [service('web', 'a', ['198.51.100.8', '198.51.100.7', '2001:db8::7'])],
    ips: [
      { ip: '198.51.100.7', pool: 'p4', group: 'web/a/ipv4' },
      { ip: '198.51.100.8', pool: 'p4', group: 'web/a/ipv4' },
      { ip: '2001:db8::7', pool: 'p6' },
    ],
  },
  {
    what: 'an IP of two such Services (sharing) is in the group of the least key, in any input order',
    services: [
      service('web', 'b', ['198.51.100.7', '198.51.100.9']),
      service('web', 'a', ['198.51.100.7', '198.51.100.8']),
    ],
    ips: [
      { ip: '198.51.100.7', pool: 'p4', group: 'web/a/ipv4' },
      { ip: '198.51.100.8', pool: 'p4', group: 'web/a/ipv4' },
      { ip: '198.51.100.9', pool: 'p4', group: 'web/b/ipv4' },
    ],
  },
];

for (const row of serviceRows) {
  test(`serviceIps: ${row.what}`, (t) => {
    const out = serviceIps(row.services, poolIndex(pools), localEndpoints(row.slices ?? []));
    t.deepEqual(out.ips, row.ips);
    t.deepEqual(out.unannounced, row.unannounced ?? []);
  });
}

test('buildWorld: nodes by name, advertisements through toAdvertisement sorted by name, members and claims', (t) => {
  const { world, unannounced } = analyseWorld({
    nodes: [node('n2', { ready: 'False' }), node('n1'), node('')],
    services: [service('web', 'a', ['198.51.100.7']), service('web', 'b', ['192.0.2.1'])],
    endpointSlices: [],
    pools: [pool('p4', ['198.51.100.0/24'], undefined, { zone: 'dmz' })],
    advertisements: [
      advertisement('z', { ipPoolSelectors: [{ matchLabels: { zone: 'dmz' } }], interfaces: ['eth0'] }),
      advertisement('a', { ipPools: ['p4'], cordonPolicy: 'HandOff', failback: true }),
    ],
    members: new Map([
      ['n2', 'suspect'],
      ['n1', 'alive'],
    ]),
    claims: new Map([['198.51.100.7', { ip: '198.51.100.7', node: 'n1', epoch: 3 }]]),
  });
  t.deepEqual([...world.nodes.keys()], ['n1', 'n2']);
  t.is(world.nodes.get('n2')?.ready, 'False');
  t.deepEqual(world.advertisements, [
    { name: 'a', pools: ['p4'], nodeSelectors: [], interfaces: [], cordon: 'hand-off', failback: true },
    { name: 'z', pools: ['p4'], nodeSelectors: [], interfaces: ['eth0'], cordon: 'keep', failback: false },
  ]);
  t.deepEqual(world.ips, [{ ip: '198.51.100.7', pool: 'p4' }]);
  t.deepEqual(
    [...world.members],
    [
      ['n1', 'alive'],
      ['n2', 'suspect'],
    ],
  );
  t.deepEqual(world.claims.get('198.51.100.7'), { ip: '198.51.100.7', node: 'n1', epoch: 3 });
  t.deepEqual(unannounced, [{ service: 'web/b', ip: '192.0.2.1', reason: 'NotInPool' }]);
});

test('buildWorld: the snapshot is frozen, and later changes to the inputs do not reach it', (t) => {
  const members = new Map([['n1', 'alive' as const]]);
  const n = node('n1', { labels: { rack: 'r1' } });
  const world = buildWorld({
    nodes: [n],
    services: [service('web', 'a', ['198.51.100.7'])],
    endpointSlices: [],
    pools,
    advertisements: [advertisement('a', { ipPools: ['p4'], interfaces: ['eth0'] })],
    members,
    claims: new Map(),
  });
  t.true(Object.isFrozen(world));
  t.true(Object.isFrozen(world.ips));
  t.true(Object.isFrozen(world.ips[0]));
  t.true(Object.isFrozen(world.advertisements[0]?.interfaces));
  t.true(Object.isFrozen(world.nodes.get('n1')?.labels));
  members.set('n2', 'alive');
  if (n.metadata?.labels !== undefined) n.metadata.labels.rack = 'r2';
  t.false(world.members.has('n2'));
  t.is(world.nodes.get('n1')?.labels.rack, 'r1');
});
