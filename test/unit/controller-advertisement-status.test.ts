import test from 'ava';
import type { V1Node } from '@kubernetes/client-node';
import { advertisementConditions, advertisementVerdict } from '../../src/controller/advertisement-status.ts';
import type { L2Advertisement } from '../../src/kube/api/index.ts';
import type { SpeakerIdentity } from '../../src/kube/world/index.ts';

const node = (name: string, labels: Record<string, string> = {}): V1Node => ({ metadata: { name, labels } });
const speaker = (n: string, interfaces?: string[]): SpeakerIdentity => ({
  node: n,
  pod: `meshlb-system/meshlb-speaker-${n}`,
  peerId: `peer-${n}`,
  addrs: [],
  macs: [],
  interfaces,
});
const adv = (spec: Partial<L2Advertisement['spec']>): L2Advertisement => ({
  apiVersion: 'meshlb.io/v1alpha1',
  kind: 'L2Advertisement',
  metadata: { name: 'a', generation: 7 },
  spec: { cordonPolicy: 'Keep', failback: false, ...spec },
});
const summary = (a: L2Advertisement, nodes: V1Node[], speakers: SpeakerIdentity[]) =>
  advertisementConditions(advertisementVerdict(a, nodes, speakers), 7).map(
    (c) => `${c.type}=${c.status}/${c.reason}`,
  );

test('speakers that never said which interfaces they answer on (older ones): Unknown, and still Ready', (t) => {
  t.deepEqual(summary(adv({ interfaces: ['eth0'] }), [node('n1')], [speaker('n1')]), [
    'NodesSelected=True/NodesMatch',
    'InterfacesFound=Unknown/InterfacesNotReported',
    'Ready=True/Answerable',
  ]);
  // One that did is enough to judge.
  t.deepEqual(
    summary(
      adv({ interfaces: ['eth0'] }),
      [node('n1'), node('n2')],
      [speaker('n1'), speaker('n2', ['eth1'])],
    )[1],
    'InterfacesFound=False/InterfacesMissing',
  );
});

test('selectors: any of them; none selects every node; speakers on unselected nodes do not count', (t) => {
  const nodes = [node('n1', { zone: 'a' }), node('n2', { zone: 'b' }), node('n3', { zone: 'c' })];
  const v = advertisementVerdict(
    adv({
      nodeSelectors: [{ matchLabels: { zone: 'a' } }, { matchLabels: { zone: 'c' } }],
      interfaces: ['eth1'],
    }),
    nodes,
    [speaker('n1', ['eth0']), speaker('n2', ['eth1'])],
  );
  t.deepEqual(v.selected, ['n1', 'n3']);
  t.deepEqual(v.withSpeaker, ['n1']);
  t.deepEqual(v.missing, ['eth1'], 'n2 answers on eth1, but n2 is not selected');
  t.is(advertisementVerdict(adv({}), nodes, []).selected.length, 3);
});

test('messages name at most five nodes, then the count; every condition carries the generation', (t) => {
  const nodes = Array.from({ length: 12 }, (_, i) => node(`n${String(i).padStart(2, '0')}`));
  const cs = advertisementConditions(advertisementVerdict(adv({}), nodes, []), 7);
  t.regex(cs[0]?.message ?? '', /n00, n01, n02, n03, n04, … \(12\)/);
  t.true(cs.every((c) => c.observedGeneration === 7));
});
