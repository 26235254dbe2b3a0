import test from 'ava';
import { toAdvertisement, type L2Advertisement, type PoolRef } from '../../src/kube/api/index.ts';

const pools: PoolRef[] = [
  { metadata: { name: 'public', labels: { zone: 'dmz', tier: 'edge' } } },
  { metadata: { name: 'internal', labels: { zone: 'core' } } },
  { metadata: { name: 'lab' } },
];

function adv(spec: Partial<L2Advertisement['spec']>): L2Advertisement {
  return {
    apiVersion: 'meshlb.io/v1alpha1',
    kind: 'L2Advertisement',
    metadata: { name: 'adv' },
    spec: { cordonPolicy: 'Keep', failback: false, ...spec },
  };
}

test('named pools and selected pools are united, sorted, without duplicates', (t) => {
  const a = toAdvertisement(
    adv({
      ipPools: ['public', 'missing'],
      ipPoolSelectors: [{ matchLabels: { zone: 'dmz' } }, { matchLabels: { zone: 'core' } }],
    }),
    pools,
  );
  t.deepEqual(a.pools, ['internal', 'missing', 'public']);
});

test('an empty selector selects every pool; no selectors select none', (t) => {
  t.deepEqual(toAdvertisement(adv({ ipPoolSelectors: [{}] }), pools).pools, ['internal', 'lab', 'public']);
  t.deepEqual(toAdvertisement(adv({ ipPools: ['lab'] }), pools).pools, ['lab']);
  const expr = adv({ ipPoolSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }] });
  t.deepEqual(toAdvertisement(expr, pools).pools, ['lab']);
});

test('cordon policy, failback, node selectors and interfaces map onto the election view', (t) => {
  const nodeSelectors = [{ matchLabels: { rack: 'r1' } }];
  const a = toAdvertisement(
    adv({ ipPools: ['lab'], cordonPolicy: 'HandOff', failback: true, nodeSelectors, interfaces: ['eth0'] }),
    pools,
  );
  t.deepEqual(a, {
    name: 'adv',
    pools: ['lab'],
    nodeSelectors,
    interfaces: ['eth0'],
    cordon: 'hand-off',
    failback: true,
  });
  const defaults = toAdvertisement(adv({ ipPools: ['lab'] }), pools);
  t.is(defaults.cordon, 'keep');
  t.false(defaults.failback);
  t.deepEqual(defaults.nodeSelectors, []);
  t.deepEqual(defaults.interfaces, []);
});
