import test from 'ava';
import { SimNetwork } from '../../src/mesh/sim/index.ts';

const allSee = (net: SimNetwork, node: string, state: string) => () =>
  [...net.viewsOf(node).values()].every((s) => s === state);

const deadEvents = (net: SimNetwork) =>
  net.live().flatMap((m) => m.events.filter((e) => e.type === 'dead').map((e) => `${m.name}->${e.node}`));

test('a quiet cluster stays all alive: no suspicion turns into a death', (t) => {
  const net = new SimNetwork({ seed: 7 });
  net.addConverged(10);
  net.run(30_000);
  t.deepEqual(deadEvents(net), []);
  for (const m of net.live()) t.is(m.core.liveCount(), 10);
});

test('a crashed member is declared dead by every other member, with the accusers as evidence', (t) => {
  const net = new SimNetwork({ seed: 11 });
  net.addConverged(10);
  net.run(2_000);
  const crashAt = net.clock.now();
  net.crash('node-3');
  const doneAt = net.runUntil(allSee(net, 'node-3', 'dead'), 5_000);
  t.not(doneAt, undefined, 'everyone marked node-3 dead');
  t.true((doneAt ?? Infinity) - crashAt < 2_000, `took ${(doneAt ?? 0) - crashAt} ms`);
  const verdicts = net
    .live()
    .flatMap((m) => m.events.filter((e) => e.type === 'dead' && e.evidence.via === 'local'));
  t.true(verdicts.length >= 1);
  t.true((verdicts[0]?.evidence.accusers?.length ?? 0) >= 1);
});

test('a member stalled for 300 ms is suspected at most, never declared dead, and refutes', (t) => {
  const net = new SimNetwork({ seed: 5 });
  net.addConverged(10);
  net.run(1_000);
  for (let i = 0; i < 20; i++) {
    net.stall('node-4', 300);
    net.run(2_000);
  }
  t.deepEqual(deadEvents(net), []);
  t.true(allSee(net, 'node-4', 'alive')());
});

test('a suspected member refutes by raising its incarnation', (t) => {
  const net = new SimNetwork({ seed: 3 });
  const [a] = net.addConverged(5);
  net.run(500);
  const victim = net.members.get('node-2');
  if (a === undefined || victim === undefined) throw new Error('setup');
  const before = victim.core.incarnation;
  a.core.handle({
    type: 'gossip',
    from: 'node-0',
    updates: [{ kind: 'suspect', node: 'node-2', incarnation: before, from: 'node-0' }],
  });
  victim.core.handle({
    type: 'gossip',
    from: 'node-0',
    updates: [{ kind: 'suspect', node: 'node-2', incarnation: before, from: 'node-0' }],
  });
  t.is(victim.core.incarnation, before + 1);
  t.truthy(net.runUntil(() => a.core.get('node-2')?.state === 'alive', 1_000));
  t.is(a.core.get('node-2')?.incarnation, before + 1);
  t.is(victim.core.stats.refutations, 1);
});

test('a new member joining through one seed is known to all within 1 s', (t) => {
  const net = new SimNetwork({ seed: 9 });
  net.addConverged(8);
  net.run(500);
  const start = net.clock.now();
  net.join('newcomer', 'node-0', 1000);
  const at = net.runUntil(allSee(net, 'newcomer', 'alive'), 3_000);
  t.not(at, undefined);
  t.true((at ?? Infinity) - start <= 1_000, `took ${(at ?? 0) - start} ms`);
  t.truthy(net.runUntil(() => net.members.get('newcomer')?.core.liveCount() === 9, 2_000));
});

test('a restarted member comes back alive everywhere with a higher incarnation', (t) => {
  const net = new SimNetwork({ seed: 13 });
  net.addConverged(8);
  net.run(500);
  const old = net.members.get('node-5')?.core.incarnation ?? 0;
  net.crash('node-5');
  t.truthy(net.runUntil(allSee(net, 'node-5', 'dead'), 5_000));
  net.restart('node-5', 'node-0');
  t.truthy(net.runUntil(allSee(net, 'node-5', 'alive'), 3_000));
  for (const m of net.live()) if (m.name !== 'node-5') t.true((m.core.get('node-5')?.incarnation ?? 0) > old);
});

test('a healed partition converges to one view: everyone alive everywhere', (t) => {
  const net = new SimNetwork({ seed: 17 });
  const members = net.addConverged(10);
  net.run(500);
  const names = members.map((m) => m.name);
  net.partition([names.slice(0, 6), names.slice(6)]);
  const majority = names.slice(0, 6).map((n) => net.members.get(n));
  const majoritySeesDead = () => majority.every((m) => m?.core.get('node-8')?.state === 'dead');
  t.truthy(net.runUntil(majoritySeesDead, 10_000), 'the minority looks dead to the majority');
  net.run(3_000);
  net.heal();
  const healed = net.runUntil(() => names.every((n) => allSee(net, n, 'alive')()), 30_000, 10);
  t.not(healed, undefined, 'one view after heal');
});

test('5% loss with 20 ± 10 ms jitter for 2 simulated minutes: no live member declared dead', (t) => {
  const net = new SimNetwork({ seed: 21, link: { latencyMs: 20, jitterMs: 10, loss: 0.05 } });
  net.addConverged(30);
  net.run(120_000);
  t.deepEqual(deadEvents(net), []);
});

test('a member that leaves is seen as left, not dead', (t) => {
  const net = new SimNetwork({ seed: 23 });
  net.addConverged(6);
  net.run(500);
  net.members.get('node-1')?.core.leave();
  t.truthy(net.runUntil(allSee(net, 'node-1', 'left'), 1_000));
  net.run(5_000);
  t.deepEqual(deadEvents(net), []);
});

test('the simulator is deterministic for a seed', (t) => {
  const run = () => {
    const net = new SimNetwork({ seed: 99, link: { latencyMs: 5, jitterMs: 4, loss: 0.02 } });
    net.addConverged(12);
    net.run(1_000);
    net.crash('node-7');
    net.run(5_000);
    return net.live().map((m) => m.events.map((e) => `${e.type}:${e.node}@${e.at.toFixed(3)}`).join(','));
  };
  t.deepEqual(run(), run());
});

test('updates that claim another origin, or an unauthorised endpoint, are dropped and counted', (t) => {
  const net = new SimNetwork({ seed: 1 });
  const [a] = net.addConverged(3);
  if (a === undefined) throw new Error('setup');
  a.core.handle({
    type: 'gossip',
    from: 'node-1',
    updates: [{ kind: 'alive', node: 'node-2', incarnation: 99, from: 'node-1' }],
  });
  t.is(a.core.stats.dropped['invalid-origin'], 1);
  t.not(a.core.get('node-2')?.incarnation, 99);
  a.core.handle({ type: 'ping', seq: 1, from: 'node-1', target: 'someone-else', piggyback: [] });
  t.is(a.core.stats.dropped['wrong-target'], 1);
});

test('1,000 members join and leave: reaped members are forgotten, the tables return to their size', (t) => {
  const net = new SimNetwork({ seed: 31, config: { reapAfterMs: 2_000 } });
  net.addConverged(3);
  net.run(500);
  const watcher = net.members.get('node-0');
  if (watcher === undefined) throw new Error('no node-0');
  const baseline = watcher.core.tracked();
  for (let round = 0; round < 100; round++) {
    const names = Array.from({ length: 10 }, (_, i) => `tmp-${round}-${i}`);
    for (const n of names) net.join(n, 'node-1');
    net.run(300);
    for (const n of names) net.members.get(n)?.core.leave();
    net.run(200);
    for (const n of names) {
      net.crash(n);
      net.members.delete(n);
    }
  }
  net.run(4_000); // past reapAfterMs, and a reconnect interval to reap in
  t.deepEqual(watcher.core.tracked(), baseline);
  t.true(watcher.forgotten >= 1_000, `${watcher.forgotten} forgotten`);
});
