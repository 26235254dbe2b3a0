import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { FastWatch, Membership } from '../../src/mesh/index.ts';
import type { DirectMessage } from '../../src/mesh/messages.ts';
import type { MeshTransport } from '../../src/mesh/transport.ts';

function setup() {
  const clock = new VirtualClock();
  const sent: { to: string; msg: DirectMessage }[] = [];
  const transport: MeshTransport = {
    send: (to, _endpoint, msg) => sent.push({ to, msg }),
    broadcast: () => undefined,
  };
  const m = new Membership({ node: 'heir', clock, transport, incarnation: 1 });
  m.seed(['announcer', 'h1', 'h2', 'h3'].map((node) => ({ node, state: 'alive' as const, incarnation: 1 })));
  m.start();
  const watch = new FastWatch({ clock, membership: m });
  return { clock, sent, m, watch };
}

test('a refused announcer is confirmed by one check once every helper nacked', (t) => {
  const { clock, sent, m, watch } = setup();
  watch.watch(['announcer']);
  const ping = sent.find((s) => s.to === 'announcer' && s.msg.type === 'ping');
  t.truthy(ping);
  sent.length = 0;
  m.unreachable('announcer'); // the dial was refused: skip the direct wait
  const reqs = sent.filter((s) => s.msg.type === 'ping-req');
  t.is(reqs.length, 3);
  for (const r of reqs) if (r.msg.type === 'ping-req') m.handle({ type: 'nack', seq: r.msg.seq, from: r.to });
  t.true(watch.failed('announcer'), 'one refused check with all helpers nacking is a verdict');
  t.is(m.stateOf('announcer'), 'suspect');
  t.is(clock.now(), 0, 'no timer had to expire');
});

test('after its connection closed, a refusal is a verdict at once: no helper is asked', (t) => {
  const { clock, sent, m, watch } = setup();
  watch.watch(['announcer']);
  m.hint('announcer'); // its last connection closed
  watch.hint('announcer');
  sent.length = 0;
  m.unreachable('announcer'); // and its host refused the knock
  t.true(watch.failed('announcer'));
  t.deepEqual(
    sent.filter((s) => s.msg.type === 'ping-req' && s.msg.target === 'announcer' && s.to !== 'announcer'),
    [],
  );
  t.is(clock.now(), 0);
  // Anything it sends on a stream (not a datagram) clears the closed mark: then helpers are asked again.
  m.handle({ type: 'ping', seq: 7, from: 'announcer', target: 'heir', piggyback: [] });
  const results: boolean[] = [];
  m.check('announcer', { pings: 1, timeoutMs: 25, indirectTimeoutMs: 40 }, (ok) => results.push(ok));
  m.unreachable('announcer');
  t.deepEqual(results, [], 'refused alone: the helpers are asked first');
});

test('without a refusal, one failed check is not a verdict; an ack clears everything', (t) => {
  const { clock, sent, m, watch } = setup();
  watch.watch(['announcer']);
  clock.advance(watch.config.timeoutMs + watch.config.indirectTimeoutMs);
  t.false(watch.failed('announcer'));
  // The confirming check sends confirmPings direct pings at once.
  const pings = sent.filter((s) => s.to === 'announcer' && s.msg.type === 'ping');
  t.is(pings.length, 1 + watch.config.confirmPings);
  const last = pings.at(-1);
  if (last?.msg.type !== 'ping') throw new Error('no ping');
  m.handle({ type: 'ack', seq: last.msg.seq, from: 'announcer', piggyback: [] });
  clock.advance(watch.config.intervalMs);
  t.false(watch.failed('announcer'));
});

test('a helper asked about a member that just refused it nacks at once', (t) => {
  const { sent, m } = setup();
  m.unreachable('announcer');
  sent.length = 0;
  m.handle({ type: 'ping-req', seq: 42, from: 'h1', target: 'announcer' });
  t.deepEqual(sent, [{ to: 'h1', msg: { type: 'nack', seq: 42, from: 'heir' } }]);
  // Any message from it clears the memory: then it is pinged again.
  m.handle({ type: 'ping', seq: 1, from: 'announcer', target: 'heir', piggyback: [] });
  sent.length = 0;
  m.handle({ type: 'ping-req', seq: 43, from: 'h1', target: 'announcer' });
  t.is(sent[0]?.to, 'announcer');
});

test('with no helper to ask, a check still waits its deadline for a direct ack; a refusal settles it at once', (t) => {
  const clock = new VirtualClock();
  const sent: { to: string; msg: DirectMessage }[] = [];
  const m = new Membership({
    node: 'back',
    clock,
    transport: { send: (to, _e, msg) => sent.push({ to, msg }), broadcast: () => undefined },
    incarnation: 1,
  });
  // Back on the LAN: everyone but the announcer still suspect in its view (no helpers).
  m.seed([
    { node: 'announcer', state: 'alive', incarnation: 1 },
    ...['h1', 'h2'].map((node) => ({ node, state: 'suspect' as const, incarnation: 1 })),
  ]);
  m.start();
  const results: boolean[] = [];
  m.check('announcer', { pings: 3, timeoutMs: 25, indirectTimeoutMs: 40, parallel: true }, (ok) =>
    results.push(ok),
  );
  t.deepEqual(results, [], 'not failed at once for want of helpers');
  clock.advance(30);
  const ping = sent.find((s) => s.to === 'announcer' && s.msg.type === 'ping');
  if (ping?.msg.type !== 'ping') return t.fail('no ping');
  m.handle({ type: 'ack', seq: ping.msg.seq, from: 'announcer', piggyback: [] });
  t.deepEqual(results, [true], 'the direct ack within the deadline counts');
  m.check('announcer', { pings: 3, timeoutMs: 25, indirectTimeoutMs: 40, parallel: true }, (ok) =>
    results.push(ok),
  );
  m.unreachable('announcer');
  t.deepEqual(results, [true, false], 'refused, and nobody else to ask: settled now');
});

/** Advances in small steps (the watch's timers chain) until `ms` has passed. */
function run(clock: VirtualClock, ms: number): void {
  for (let i = 0; i < ms; i += 5) clock.advance(5);
}

test('a member that sends anything during a check (a late answer) is slow, not hung: no verdict', (t) => {
  const { clock, sent, m, watch } = setup();
  watch.watch(['announcer']);
  const lastPing = (): number | undefined =>
    sent.flatMap((s) => (s.to === 'announcer' && s.msg.type === 'ping' ? [s.msg.seq] : [])).at(-1);
  // It answers every check, each just after that check's deadline.
  for (let i = 0; i < 10; i++) {
    const before = lastPing();
    run(clock, watch.config.timeoutMs + watch.config.indirectTimeoutMs + 5);
    if (before !== undefined) m.handle({ type: 'ack', seq: before, from: 'announcer', piggyback: [] });
  }
  t.false(watch.failed('announcer'));
  // Then silence (a hang): the verdict comes (the check running when the last answer came counts it).
  run(clock, 2 * (watch.config.intervalMs + watch.config.timeoutMs + 3 * watch.config.indirectTimeoutMs));
  t.true(watch.failed('announcer'));
});

test('gossip signed by the member (relayed by others, maybe sent before it hung) is no sign of life', (t) => {
  const { clock, m, watch } = setup();
  watch.watch(['announcer']);
  for (let i = 0; i < 40; i++) {
    run(clock, 5);
    m.handle({
      type: 'gossip',
      from: 'announcer',
      updates: [{ kind: 'alive', node: 'announcer', incarnation: 1, from: 'announcer' }],
    });
  }
  t.true(watch.failed('announcer'));
});
