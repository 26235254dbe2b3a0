// The protocol's parts (src/mesh/swim/: updates, checks, probes, sync, heal),
// each driven on its own over one SwimContext with a recording transport.
import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { Awareness } from '../../src/mesh/awareness.ts';
import { LAN_FAST } from '../../src/mesh/config.ts';
import type { MemberEvent } from '../../src/mesh/events.ts';
import type { BroadcastMessage, DirectMessage, MemberState } from '../../src/mesh/messages.ts';
import { MembershipStats } from '../../src/mesh/stats.ts';
import { Checker } from '../../src/mesh/swim/checks.ts';
import type { SwimContext } from '../../src/mesh/swim/context.ts';
import { Healer } from '../../src/mesh/swim/heal.ts';
import { MemberTable } from '../../src/mesh/swim/member-table.ts';
import { Outbox } from '../../src/mesh/swim/outbox.ts';
import { PendingTable } from '../../src/mesh/swim/pending.ts';
import { Prober } from '../../src/mesh/swim/probes.ts';
import { Sync } from '../../src/mesh/swim/sync.ts';
import { MeshTimers } from '../../src/mesh/swim/timers.ts';
import { UpdateRules, type UpdateHooks } from '../../src/mesh/swim/updates.ts';
import type { MeshTransport } from '../../src/mesh/transport.ts';
import { MapClaimStore } from '../helpers/claim-store.ts';

interface Sent {
  to: string;
  msg: DirectMessage;
}

/** Member 'a' knowing `others` (alive unless said), its parts unwired but for what a test passes. */
function context(others: Record<string, MemberState>) {
  const clock = new VirtualClock();
  const sent: Sent[] = [];
  const gossip: BroadcastMessage[] = [];
  const forgotten: string[] = [];
  const transport: MeshTransport = {
    send: (to, _e, msg) => sent.push({ to, msg }),
    broadcast: (msg) => gossip.push(msg),
    forget: (node) => forgotten.push(node),
  };
  const random = (): number => 0.5;
  const stats = new MembershipStats();
  const table = new MemberTable({ node: 'a', state: 'alive', incarnation: 10, since: 0 }, random);
  for (const [node, state] of Object.entries(others)) table.add({ node, state, incarnation: 1, since: 0 });
  const timers = new MeshTimers({
    clock,
    random,
    lagToleranceMs: 40,
    onLag: () => undefined,
    onLoopError: () => undefined,
  });
  timers.start();
  const outbox = new Outbox({
    node: 'a',
    config: LAN_FAST,
    transport,
    table,
    stats,
    running: () => timers.running,
  });
  const cx: SwimContext = {
    node: 'a',
    config: LAN_FAST,
    clock,
    random,
    stats,
    awareness: new Awareness(LAN_FAST.awarenessMax),
    table,
    timers,
    outbox,
    pending: new PendingTable(),
  };
  return { cx, clock, sent, gossip, forgotten, transport };
}

const hooks = (over: Partial<UpdateHooks> = {}): UpdateHooks => ({
  probe: () => undefined,
  backFromDead: () => undefined,
  refuted: () => undefined,
  left: () => false,
  ...over,
});

test('updates: a suspicion runs into a dead verdict, an alive at a higher incarnation refutes it; events say so', (t) => {
  const { cx, clock, gossip } = context({ b: 'alive', c: 'alive', d: 'alive' });
  const rules = new UpdateRules(cx, undefined, hooks());
  const events: MemberEvent[] = [];
  rules.onEvent((e) => events.push(e));
  rules.accuse('b');
  t.is(cx.table.get('b')?.state, 'suspect');
  t.true(
    gossip.some((g) => g.type === 'gossip' && g.updates.some((u) => u.kind === 'suspect')),
    'our own accusation is gossiped',
  );
  clock.advance(10_000);
  t.is(cx.table.get('b')?.state, 'dead', 'nobody refuted: the suspicion ran out');
  t.deepEqual(
    events.map((e) => `${e.type} ${e.node}`),
    ['suspect b', 'dead b'],
  );
  rules.accuse('c');
  t.true(rules.apply({ kind: 'alive', node: 'c', incarnation: 2, from: 'c' }, 'gossip'));
  t.is(cx.table.get('c')?.state, 'alive');
  t.false(rules.apply({ kind: 'suspect', node: 'c', incarnation: 1, from: 'd' }, 'gossip'), 'stale');
  t.is(cx.stats.stale, 1);
});

test('updates: an accusation of ourselves is refuted by raising our incarnation; one from the other side of a partition is dropped', (t) => {
  let refuted = 0;
  const { cx } = context({ b: 'alive', z: 'dead' });
  const rules = new UpdateRules(cx, undefined, hooks({ refuted: () => refuted++ }));
  rules.apply({ kind: 'suspect', node: 'a', incarnation: 10, from: 'b' }, 'gossip');
  t.is(cx.table.self.incarnation, 11);
  t.is(refuted, 1);
  t.false(rules.apply({ kind: 'dead', node: 'b', incarnation: 1, from: 'z' }, 'gossip'));
  t.is(cx.stats.dropped['accuser-dead'], 1);
  t.is(cx.table.get('b')?.state, 'alive');
});

test('updates: a member back from the dead calls the heal hook; a new suspicion may ask for a confirming probe', (t) => {
  const back: string[] = [];
  const probed: string[] = [];
  const { cx } = context({ b: 'dead', c: 'alive', d: 'alive', e: 'alive' });
  const rules = new UpdateRules(
    cx,
    undefined,
    hooks({ backFromDead: (r) => back.push(r.node), probe: (n) => probed.push(n) }),
  );
  rules.apply({ kind: 'alive', node: 'b', incarnation: 2, from: 'b' }, 'gossip');
  t.deepEqual(back, ['b']);
  rules.apply({ kind: 'suspect', node: 'c', incarnation: 1, from: 'd' }, 'gossip');
  t.deepEqual(probed, ['c'], 'random 0.5 < confirmProbes / others');
});

test('checks: an ack settles the check true; with every helper nacking it settles false; a refusal after a close settles at once', (t) => {
  const { cx, sent } = context({ b: 'alive', c: 'alive' });
  const checker = new Checker(cx);
  const results: string[] = [];
  const opts = { pings: 1, timeoutMs: 25, indirectTimeoutMs: 40 };
  checker.check('b', opts, (ok, refused) => results.push(`${ok} ${refused}`));
  const ping = sent.find((s) => s.msg.type === 'ping');
  const p = ping === undefined ? undefined : cx.pending.answer((ping.msg as { seq: number }).seq);
  if (p !== undefined && typeof p !== 'string' && p.kind === 'check') checker.settle(p, true);
  t.deepEqual(results, ['true false']);
  checker.check('b', opts, (ok, refused) => results.push(`${ok} ${refused}`));
  (cx.clock as VirtualClock).advance(25);
  const req = sent.find((s) => s.msg.type === 'ping-req');
  t.is(req?.to, 'c', 'the helper is asked after the direct deadline');
  for (const [, q] of cx.pending.entries()) if (q.kind === 'check') checker.nacked(q, 'c');
  t.deepEqual(results, ['true false', 'false false']);
  const b = cx.table.get('b');
  if (b !== undefined) b.closed = true;
  checker.check('b', opts, (ok, refused) => results.push(`${ok} ${refused}`));
  checker.refusedBy('b');
  t.deepEqual(results.at(-1), 'false true');
  t.true(checker.recentlyRefused('b'));
  checker.heardFrom('b');
  t.false(checker.recentlyRefused('b'));
});

test('probes: a probe that gets no answer asks the helpers, then accuses; an answer to a ping goes back the way it came', (t) => {
  const { cx, clock, sent } = context({ b: 'alive', c: 'alive' });
  const accused: string[] = [];
  const prober = new Prober(cx, new Checker(cx), (n) => accused.push(n));
  prober.probe('b');
  t.true(sent.some((s) => s.to === 'b' && s.msg.type === 'ping'));
  clock.advance(LAN_FAST.probeTimeoutMs);
  t.true(sent.some((s) => s.to === 'c' && s.msg.type === 'ping-req'));
  clock.advance(LAN_FAST.indirectTimeoutMs);
  t.deepEqual(accused, ['b']);
  t.is(cx.stats.probesFailed, 1);
  prober.onPing({ type: 'ping', seq: 7, from: 'c', target: 'a', piggyback: [] }, true);
  t.like(sent.at(-1), { to: 'c', msg: { type: 'ack', seq: 7 } });
});

test('sync: a join with no seeds is synced at once; a push-pull request is answered with our view and claims', (t) => {
  const { cx, sent } = context({ b: 'alive' });
  const store = new MapClaimStore();
  store.merge([{ ip: '192.0.2.1', node: 'a', epoch: 1 }], 'a', 'gossip');
  const sync = new Sync(cx, new UpdateRules(cx, undefined, hooks()), store);
  const synced: string[] = [];
  sync.onSynced((e) => synced.push(e.via));
  sync.join([]);
  t.true(sync.synced);
  t.deepEqual(synced, ['local']);
  sync.onPushPull({ type: 'push-pull', from: 'b', join: true, reply: false, members: [], claims: [] });
  const reply = sent.at(-1);
  t.is(reply?.to, 'b');
  t.like(reply?.msg, { type: 'push-pull', reply: true });
  t.deepEqual(reply?.msg.type === 'push-pull' ? reply.msg.claims.map((c) => c.ip) : [], ['192.0.2.1']);
});

test('heal: the dead are pinged as datagrams; an answer starts a push-pull; the long dead are reaped and forgotten', (t) => {
  const { cx, clock, sent, forgotten, transport } = context({ b: 'dead', c: 'alive' });
  const sync = new Sync(cx, new UpdateRules(cx, undefined, hooks()), undefined);
  const gone: string[] = [];
  const healer = new Healer(cx, transport, sync, (n) => gone.push(n));
  healer.sweepDead();
  const ping = sent.find((s) => s.to === 'b' && s.msg.type === 'ping');
  t.truthy(ping, 'a reconnect ping to the dead member');
  const p = ping === undefined ? undefined : cx.pending.answer((ping.msg as { seq: number }).seq);
  if (p !== undefined && typeof p !== 'string' && p.kind === 'reconnect') healer.answered(p);
  t.like(sent.at(-1), { to: 'b', msg: { type: 'push-pull' } });
  clock.advance(LAN_FAST.reapAfterMs + 1);
  healer.tick();
  t.false(cx.table.has('b'));
  t.deepEqual(gone, ['b']);
  t.deepEqual(forgotten, ['b']);
  t.true(cx.table.has('c'));
});
