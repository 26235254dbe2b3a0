// Speaker identities from Pods (the PeerAuthority and the mesh's seeds), and the
// coalescing of change notifications.
import test from 'ava';
import type { V1Pod } from '@kubernetes/client-node';
import {
  Coalescer,
  INTERFACES_ANNOTATION as IFACES,
  KubePeerAuthority,
  MACS_ANNOTATION as MACS,
  MESH_ADDRS_ANNOTATION as ADDRS,
  PEER_ID_ANNOTATION as PEER,
  speakerIdentities,
} from '../../src/kube/world/index.ts';
import { speakerPod } from './kube-world-fixtures.ts';

const a1 = JSON.stringify(['/ip4/10.0.0.1/tcp/7946']);

const pods: V1Pod[] = [
  speakerPod('speaker-b', 'n2', {
    [PEER]: 'peer-b',
    [ADDRS]: '["/ip4/10.0.0.2/tcp/7946"]',
    [MACS]: '["02:00:00:00:00:0B", "not-a-mac", 7]',
  }),
  speakerPod('speaker-a', 'n1', {
    [PEER]: 'peer-a',
    [ADDRS]: a1,
    [MACS]: '["02:00:00:00:00:0a"]',
    [IFACES]: '["eth0"]',
  }),
  // A second Pod on n1 during a rolling update: both may speak for it.
  speakerPod('speaker-a2', 'n1', { [PEER]: 'peer-a2', [ADDRS]: 'not json', [IFACES]: '["eth0", 1]' }),
  speakerPod('pending', undefined, { [PEER]: 'peer-unscheduled' }),
  speakerPod('finished', 'n3', { [PEER]: 'peer-old' }, { phase: 'Failed' }),
  speakerPod('done', 'n3', { [PEER]: 'peer-done' }, { phase: 'Succeeded' }),
  speakerPod('terminating', 'n4', { [PEER]: 'peer-d' }, { deleting: true }),
  speakerPod('controller', 'n5', { [PEER]: 'peer-ctl' }, { component: 'controller' }),
  speakerPod('fresh', 'n6', {}),
];

test('speakerIdentities: scheduled speaker Pods that published a peer ID, sorted by node', (t) => {
  t.deepEqual(speakerIdentities(pods), [
    {
      node: 'n1',
      pod: 'meshlb/speaker-a',
      peerId: 'peer-a',
      addrs: ['/ip4/10.0.0.1/tcp/7946'],
      macs: ['02:00:00:00:00:0a'],
      interfaces: ['eth0'],
    },
    // Malformed interfaces: not reported (undefined), as from a speaker that never published them.
    { node: 'n1', pod: 'meshlb/speaker-a2', peerId: 'peer-a2', addrs: [], macs: [], interfaces: undefined },
    // A malformed array of MACs is not taken whole: a list with a non-string is dropped.
    {
      node: 'n2',
      pod: 'meshlb/speaker-b',
      peerId: 'peer-b',
      addrs: ['/ip4/10.0.0.2/tcp/7946'],
      macs: [],
      interfaces: undefined,
    },
    { node: 'n4', pod: 'meshlb/terminating', peerId: 'peer-d', addrs: [], macs: [], interfaces: undefined },
  ]);
});

const authorityRows: [peer: string, node: string, ok: boolean, why: string][] = [
  ['peer-a', 'n1', true, 'its own node'],
  ['peer-a2', 'n1', true, 'the second Pod of a rolling update'],
  ['peer-a', 'n2', false, "another speaker's node"],
  ['peer-b', 'n1', false, "another speaker's node"],
  ['peer-old', 'n3', false, 'a Failed Pod'],
  ['peer-done', 'n3', false, 'a Succeeded Pod'],
  ['peer-ctl', 'n5', false, 'not a speaker Pod'],
  ['peer-unscheduled', '', false, 'an unscheduled Pod'],
  ['peer-d', 'n4', true, 'a terminating Pod (its speaker is leaving)'],
  ['peer-x', 'n9', false, 'an unknown peer and node'],
  ['', 'n6', false, 'a Pod that published nothing'],
];

for (const [peer, nodeName, ok, why] of authorityRows) {
  test(`KubePeerAuthority: ${peer || '(none)'} for ${nodeName || '(none)'}: ${ok} (${why})`, (t) => {
    t.is(new KubePeerAuthority(() => pods).maySpeakFor(peer, nodeName), ok);
  });
}

test('KubePeerAuthority: rebuilds its index after invalidate(), not before', (t) => {
  let current: V1Pod[] = [speakerPod('s', 'n1', { [PEER]: 'old' })];
  let reads = 0;
  const auth = new KubePeerAuthority(() => {
    reads++;
    return current;
  });
  t.true(auth.maySpeakFor('old', 'n1'));
  t.false(auth.maySpeakFor('new', 'n1'));
  t.is(reads, 1);
  current = [speakerPod('s', 'n1', { [PEER]: 'new' })];
  t.true(auth.maySpeakFor('old', 'n1')); // cached until told
  auth.invalidate();
  t.false(auth.maySpeakFor('old', 'n1'));
  t.true(auth.maySpeakFor('new', 'n1'));
  t.is(reads, 2);
});

test('KubePeerAuthority.peers: the other speakers with addresses, as mesh endpoints', (t) => {
  const auth = new KubePeerAuthority(() => pods);
  t.deepEqual(auth.peers('n2'), [{ peerId: 'peer-a', addrs: ['/ip4/10.0.0.1/tcp/7946'] }]);
  t.deepEqual(auth.peers('n1'), [{ peerId: 'peer-b', addrs: ['/ip4/10.0.0.2/tcp/7946'] }]);
});

test('Coalescer: many requests in a turn give one call; a request during the call gives one more', async (t) => {
  let calls = 0;
  const c = new Coalescer(() => {
    calls++;
    if (calls === 1) {
      c.request();
      c.request();
    }
  });
  for (let i = 0; i < 100; i++) c.request();
  t.is(calls, 0);
  t.true(c.pending);
  await new Promise((r) => setImmediate(r));
  t.is(calls, 1);
  await new Promise((r) => setImmediate(r));
  t.is(calls, 2);
  await new Promise((r) => setImmediate(r));
  t.is(calls, 2);
  t.false(c.pending);
});

test('Coalescer: now() runs at once and drops the scheduled call; from inside the call it only requests', async (t) => {
  let calls = 0;
  const c = new Coalescer(() => {
    calls++;
    if (calls === 1) c.now(); // re-entrant: becomes a request
  });
  c.request();
  c.now();
  t.is(calls, 1, 'ran synchronously');
  t.true(c.pending, 'the re-entrant now() was turned into a request');
  await new Promise((r) => setImmediate(r));
  t.is(calls, 2);
  await new Promise((r) => setImmediate(r));
  t.is(calls, 2, 'the request made before now() was dropped, not run again');
});

test('Coalescer: stop drops the scheduled call and later requests', (t) => {
  const scheduled: (() => void)[] = [];
  let cancelled = 0;
  let calls = 0;
  const c = new Coalescer(
    () => calls++,
    (run) => {
      scheduled.push(run);
      return () => cancelled++;
    },
  );
  c.request();
  c.request();
  t.is(scheduled.length, 1);
  c.stop();
  t.is(cancelled, 1);
  c.request();
  t.is(scheduled.length, 1);
  scheduled[0]?.();
  t.is(calls, 0);
});

test('KubePeerAuthority.nodeOfMac: the node whose speaker published a MAC, in any case; else none', (t) => {
  const auth = new KubePeerAuthority(() => [
    ...pods,
    speakerPod('speaker-c', 'n7', { [PEER]: 'peer-c', [MACS]: '["02:00:00:00:00:0C", "bogus"]' }),
  ]);
  t.is(auth.nodeOfMac('02:00:00:00:00:0A'), 'n1');
  t.is(auth.nodeOfMac('02:00:00:00:00:0c'), 'n7', 'the valid entries of a list with a malformed MAC');
  t.is(auth.nodeOfMac('02:00:00:00:00:0b'), undefined, 'a list with a non-string is dropped whole');
  t.is(auth.nodeOfMac('02:00:00:00:00:99'), undefined);
});
