import test from 'ava';
import { StaticPeerAuthority } from '../../src/mesh/transport.ts';
import { waitFor } from '../helpers/wait.ts';
import { aliveSeenBy, identity, newNetworkKey, startSpeaker } from '../../lab/testbed/speakers/in-process.ts';

test('revive drops the connection left from before; the push-pull after it goes on a fresh one', async (t) => {
  const ids = await Promise.all(['r1', 'r2'].map(identity));
  const key = newNetworkKey();
  const authority = new StaticPeerAuthority(ids.map((i) => [i.name, i.peerId] as const));
  const [a, b] = await Promise.all(ids.map((id) => startSpeaker({ id, networkKey: key, authority })));
  if (a === undefined || b === undefined) throw new Error('no speakers');
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  b.membership.join([a.transport.endpoint]);
  await waitFor('both to see two alive', () => aliveSeenBy(a).length === 2 && aliveSeenBy(b).length === 2);
  const before = a.node.getConnections(b.node.peerId).map((c) => c.id);
  t.true(before.length > 0);

  const received = (): number => b.membership.stats.messagesReceived['push-pull'] ?? 0;
  const pushPulls = received();
  a.transport.revive('r2', b.transport.endpoint);
  t.is(a.transport.stats.revived, 1);
  t.true(a.node.getConnections(b.node.peerId).every((c) => c.status !== 'open'));
  // What is sent next waits for a fresh connection, and arrives.
  a.transport.send('r2', b.transport.endpoint, {
    type: 'push-pull',
    from: 'r1',
    join: false,
    reply: false,
    members: [{ node: 'r1', state: 'alive', incarnation: a.membership.incarnation }],
    claims: [],
  });
  await waitFor('b to receive the push-pull', () => received() > pushPulls);
  t.is(a.transport.stats.dropped.dial, undefined, 'the fresh dial worked');
  const after = a.node.getConnections(b.node.peerId).filter((c) => c.status === 'open');
  t.true(after.length > 0);
  t.false(
    after.some((c) => before.includes(c.id)),
    'a new connection',
  );
  // The abort is a closed connection to the core (a hint: probe now); under load that
  // probe may time out and raise a suspicion, refuted at once. Both see both alive.
  await waitFor(
    'both to see each other alive',
    () => aliveSeenBy(a).length === 2 && aliveSeenBy(b).length === 2,
  );
  t.is(a.transport.stats.knocksRefused, 0, 'the knock after the abort found b listening');
});

test('revive with no connection, or for an unknown member, does nothing', async (t) => {
  const id = await identity('lonely');
  const s = await startSpeaker({ id, networkKey: newNetworkKey() });
  t.teardown(() => s.stop());
  s.transport.revive('nobody', undefined);
  s.transport.revive('other', { peerId: id.peerId, addrs: [] });
  t.is(s.transport.stats.revived, 0);
});
