// The parts Membership is composed of (src/mesh/swim/), each on its own.
import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { LAN_FAST } from '../../src/mesh/config.ts';
import type { BroadcastMessage, DirectMessage } from '../../src/mesh/messages.ts';
import { MembershipStats } from '../../src/mesh/stats.ts';
import { MemberTable } from '../../src/mesh/swim/member-table.ts';
import { Outbox } from '../../src/mesh/swim/outbox.ts';
import { PendingTable } from '../../src/mesh/swim/pending.ts';
import { MeshTimers } from '../../src/mesh/swim/timers.ts';

/** A seeded random source (mulberry32) for reproducible orders. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function table(others: string[], random = seeded(1)): MemberTable {
  const t = new MemberTable({ node: 'self', state: 'alive', incarnation: 1, since: 0 }, random);
  for (const node of others) t.add({ node, state: 'alive', incarnation: 1, since: 0 });
  return t;
}

test('member table: the live count follows every state change, add and delete', (t) => {
  const m = table(['a', 'b', 'c']);
  t.is(m.live, 4, 'self and three alive');
  const a = m.get('a');
  if (a === undefined) return t.fail();
  m.setState(a, 'suspect');
  t.is(m.live, 4, 'a suspect is live');
  m.setState(a, 'dead');
  t.is(m.live, 3);
  m.delete('a');
  t.is(m.live, 3, 'deleting a dead member changes nothing');
  m.delete('b');
  t.is(m.live, 2, 'deleting a live one does');
  m.add({ node: 'd', state: 'dead', incarnation: 1, since: 0 });
  t.is(m.live, 2, 'a member added dead is not live');
  m.delete('self');
  t.true(m.has('self'), 'our own record is never deleted');
  m.setState(m.self, 'left');
  t.is(m.live, 1);
});

test('member table: each round probes every live member once, in a new order, never itself', (t) => {
  const m = table(['a', 'b', 'c', 'd', 'e']);
  const c = m.get('c');
  if (c === undefined) return t.fail();
  m.setState(c, 'dead');
  const rounds = [0, 1, 2].map(() => [0, 1, 2, 3].map(() => m.nextTarget()));
  for (const r of rounds) t.deepEqual([...r].sort(), ['a', 'b', 'd', 'e']);
  t.notDeepEqual(rounds[0], rounds[1], 'a new shuffle per round (seeded: fixed)');
  const lonely = table([]);
  t.is(lonely.nextTarget(), undefined);
});

test('member table: pick takes k distinct members that pass the filter, fewer if there are not k', (t) => {
  const m = table(['a', 'b', 'c', 'd']);
  const picked = m.pick(3, (r) => r.node !== 'self');
  t.is(new Set(picked.map((r) => r.node)).size, 3);
  t.false(picked.some((r) => r.node === 'self'));
  t.is(m.pick(10, (r) => r.node.length === 1).length, 4);
  t.deepEqual(
    m
      .snapshots()
      .map((s) => s.node)
      .sort(),
    ['a', 'b', 'c', 'd', 'self'],
  );
});

test('timers: a loop survives a throwing tick, a late one-shot says so, and stop cancels everything', (t) => {
  const clock = new VirtualClock();
  // Our event loop's stall, as a timer sees it: now() runs ahead of when it was due.
  let stall = 0;
  const stalling = {
    now: () => clock.now() + stall,
    wallNow: () => clock.wallNow(),
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
    sleep: (ms: number) => clock.sleep(ms),
  };
  const errors: unknown[] = [];
  let lags = 0;
  const timers = new MeshTimers({
    clock: stalling,
    random: () => 0.5,
    lagToleranceMs: 40,
    onLag: () => lags++,
    onLoopError: (err) => errors.push(err),
  });
  timers.start();
  let ticks = 0;
  timers.loop(
    () => 100,
    () => {
      ticks++;
      if (ticks === 1) throw new Error('first tick');
    },
  );
  clock.advance(350);
  t.is(ticks, 3, 'the loop went on after its first tick threw');
  t.is(errors.length, 1);
  const seen: boolean[] = [];
  timers.after(10, (lagged) => seen.push(lagged));
  timers.after(20, (lagged) => seen.push(lagged));
  clock.advance(10);
  stall = 90;
  clock.advance(10);
  t.deepEqual(seen, [false, true], 'on time, then 90 ms late');
  t.is(lags, 1);
  timers.after(10, () => seen.push(false));
  const before = ticks;
  timers.stop();
  clock.advance(1_000);
  t.is(ticks, before, 'nothing ran after stop()');
  t.is(seen.length, 2);
  t.false(timers.running);
});

test('pending: an answer settles its entry once; a second copy is a duplicate, anything else unknown', (t) => {
  const pending = new PendingTable();
  const seq = pending.nextSeq();
  let cancelled = 0;
  pending.set(seq, { kind: 'reconnect', target: 'b', timer: { cancel: () => cancelled++ } });
  t.true(pending.reconnecting('b'));
  const p = pending.answer(seq);
  t.is(typeof p === 'string' ? p : p.kind, 'reconnect');
  t.is(cancelled, 1, 'its timer cancelled');
  t.false(pending.reconnecting('b'));
  t.is(pending.answer(seq), 'duplicate');
  t.is(pending.answer(seq + 1000), 'unknown-seq');
});

test('outbox: an accusation of the addressee rides first; a throwing transport is a counted loss', (t) => {
  const m = table(['b']);
  const b = m.get('b');
  if (b === undefined) return t.fail();
  const sent: DirectMessage[] = [];
  const broadcast: BroadcastMessage[] = [];
  let failing = false;
  const errors: string[] = [];
  const stats = new MembershipStats();
  const outbox = new Outbox({
    node: 'self',
    config: LAN_FAST,
    table: m,
    stats,
    running: () => true,
    transport: {
      send: (_to, _e, msg) => {
        if (failing) throw new Error('socket gone');
        sent.push(msg);
      },
      broadcast: (msg) => broadcast.push(msg),
    },
    onError: (_err, where) => errors.push(where),
  });
  outbox.piggyback({ kind: 'alive', node: 'x', incarnation: 2, from: 'x' });
  m.setState(b, 'suspect');
  const ping = outbox.ping(7, 'b');
  t.deepEqual(
    ping.piggyback.map((u) => `${u.kind} ${u.node}`),
    ['suspect b', 'alive x'],
  );
  failing = true;
  outbox.send('b', undefined, ping);
  t.is(stats.sendErrors, 1);
  t.deepEqual(errors, ['send']);
  outbox.broadcast([outbox.aliveUpdate()]);
  t.is(broadcast.length, 1);
});
