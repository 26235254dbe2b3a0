import test from 'ava';
import { eligibility, matchesSelector, REASONS, type Reason } from '../../src/election/index.ts';
import type { Advertisement, NodeView, ServiceIp, World } from '../../src/election/index.ts';
import type { MemberState } from '../../src/mesh/messages.ts';
import { readyNode } from '../../lab/testbed/election-world.ts';

const healthy = (name: string, over: Partial<NodeView> = {}): NodeView => ({
  ...readyNode(name),
  labels: { 'kubernetes.io/hostname': name },
  ...over,
});
const ad = (over: Partial<Advertisement> = {}): Advertisement => ({
  name: 'l2',
  pools: ['default'],
  nodeSelectors: [],
  interfaces: [],
  cordon: 'keep',
  failback: false,
  ...over,
});
const vip: ServiceIp = { ip: '198.51.100.10', pool: 'default' };

function world(opts: { node?: NodeView | null; member?: MemberState | null; ads?: Advertisement[] }): World {
  const nodes = new Map<string, NodeView>();
  if (opts.node !== null) nodes.set('n1', opts.node ?? healthy('n1'));
  const members = new Map<string, MemberState>();
  if (opts.member !== null) members.set('n1', opts.member ?? 'alive');
  return { nodes, members, advertisements: opts.ads ?? [ad()], ips: [vip], claims: new Map() };
}

const cases: [string, Parameters<typeof world>[0], Reason | 'ok', ServiceIp?][] = [
  ['healthy node, alive speaker', {}, 'ok'],
  ['no speaker in the mesh', { member: null }, 'SpeakerNotMember'],
  ['speaker dead', { member: 'dead' }, 'SpeakerDead'],
  ['speaker left', { member: 'left' }, 'SpeakerLeft'],
  ['speaker suspected (taking over)', { member: 'suspect' }, 'SpeakerSuspect'],
  ['no Node object', { node: null }, 'NodeNotFound'],
  ['NotReady', { node: healthy('n1', { ready: 'False' }) }, 'NodeNotReady'],
  ['Ready Unknown', { node: healthy('n1', { ready: 'Unknown' }) }, 'NodeNotReady'],
  ['NetworkUnavailable', { node: healthy('n1', { networkUnavailable: true }) }, 'NodeNetworkUnavailable'],
  ['being deleted', { node: healthy('n1', { deleting: true }) }, 'NodeDeleting'],
  [
    'unreachable taint',
    { node: healthy('n1', { taints: ['node.kubernetes.io/unreachable'] }) },
    'NodeTaintUnreachable',
  ],
  [
    'not-ready taint',
    { node: healthy('n1', { taints: ['node.kubernetes.io/not-ready'] }) },
    'NodeTaintNotReady',
  ],
  [
    'out-of-service taint',
    { node: healthy('n1', { taints: ['node.kubernetes.io/out-of-service'] }) },
    'NodeTaintOutOfService',
  ],
  ['another taint is fine', { node: healthy('n1', { taints: ['example.com/gpu'] }) }, 'ok'],
  [
    'exclude-from-external-load-balancers label',
    { node: healthy('n1', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }) },
    'NodeExcludedByLabel',
  ],
  ['no advertisement for the pool', { ads: [ad({ pools: ['other'] })] }, 'NoAdvertisement'],
  [
    'advertisement selects other nodes',
    { ads: [ad({ nodeSelectors: [{ matchLabels: { zone: 'a' } }] })] },
    'NotSelectedByAdvertisement',
  ],
  ['cordoned, policy keep (default)', { node: healthy('n1', { unschedulable: true }) }, 'ok'],
  [
    'cordoned, policy hand-off',
    { node: healthy('n1', { unschedulable: true }), ads: [ad({ cordon: 'hand-off' })] },
    'CordonedHandOff',
  ],
  [
    'cordoned, one advertisement keeps',
    { node: healthy('n1', { unschedulable: true }), ads: [ad({ cordon: 'hand-off' }), ad({ name: 'b' })] },
    'ok',
  ],
  ['Local policy, no endpoint here', {}, 'NoLocalEndpoint', { ...vip, localEndpointNodes: new Set(['n2']) }],
  ['Local policy, endpoint here', {}, 'ok', { ...vip, localEndpointNodes: new Set(['n1']) }],
];

for (const [title, w, expected, ip] of cases) {
  test(`eligibility: ${title} → ${expected}`, (t) => {
    const e = eligibility(world(w), ip ?? vip, 'n1', 'take');
    t.is(e.ok ? 'ok' : e.reason, expected);
    if (!e.ok) t.truthy(REASONS[e.reason]);
  });
}

test('eligibility: a suspected speaker may keep an IP it holds, never take one', (t) => {
  const w = world({ member: 'suspect' });
  t.false(eligibility(w, vip, 'n1', 'take').ok);
  t.true(eligibility(w, vip, 'n1', 'keep').ok);
  t.false(eligibility(world({ member: 'dead' }), vip, 'n1', 'keep').ok);
});

test('eligibility: interfaces are the union over selecting advertisements; an empty list means all', (t) => {
  const two = world({ ads: [ad({ interfaces: ['eth1'] }), ad({ name: 'b', interfaces: ['eth0', 'eth1'] })] });
  t.deepEqual(eligibility(two, vip, 'n1', 'take'), { ok: true, interfaces: ['eth0', 'eth1'] });
  const all = world({ ads: [ad({ interfaces: ['eth1'] }), ad({ name: 'b' })] });
  t.deepEqual(eligibility(all, vip, 'n1', 'take'), { ok: true, interfaces: [] });
});

test('label selectors follow Kubernetes semantics', (t) => {
  const labels = { zone: 'a', role: 'edge' };
  t.true(matchesSelector(labels, {}));
  t.true(matchesSelector(labels, { matchLabels: { zone: 'a' } }));
  t.false(matchesSelector(labels, { matchLabels: { zone: 'b' } }));
  t.true(
    matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }),
  );
  t.false(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }));
  t.true(matchesSelector(labels, { matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['x'] }] }));
  t.true(matchesSelector(labels, { matchExpressions: [{ key: 'role', operator: 'Exists' }] }));
  t.false(matchesSelector(labels, { matchExpressions: [{ key: 'role', operator: 'DoesNotExist' }] }));
  t.false(matchesSelector(labels, { matchExpressions: [{ key: 'gpu', operator: 'In', values: ['x'] }] }));
});
