import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { FastWatch, Membership } from '../../src/mesh/index.ts';
import type { DirectMessage } from '../../src/mesh/messages.ts';
import type { MeshTransport } from '../../src/mesh/transport.ts';

/** An heir whose view has the announcer dead (the other side of a partition), then alive again: the heal. */
function healed() {
  const clock = new VirtualClock();
  const sent: { to: string; msg: DirectMessage }[] = [];
  const transport: MeshTransport = {
    send: (to, _endpoint, msg) => sent.push({ to, msg }),
    broadcast: () => undefined,
  };
  const m = new Membership({ node: 'heir', clock, transport, incarnation: 1 });
  m.seed([
    { node: 'announcer', state: 'dead', incarnation: 1 },
    ...['h1', 'h2', 'h3'].map((node) => ({ node, state: 'alive' as const, incarnation: 1 })),
  ]);
  m.start();
  m.handle({
    type: 'gossip',
    from: 'announcer',
    updates: [{ kind: 'alive', node: 'announcer', incarnation: 2, from: 'announcer' }],
  });
  const watch = new FastWatch({ clock, membership: m });
  return { clock, sent, m, watch };
}

/** Advances in small steps (the watch's timers chain) until `ms` has passed. */
function run(clock: VirtualClock, ms: number): void {
  for (let i = 0; i < ms; i += 5) clock.advance(5);
}

test('right after a heal, silence gets a verdict only after healSilenceMs, not after confirmRounds checks', (t) => {
  const { clock, m, watch } = healed();
  t.is(m.stateOf('announcer'), 'alive');
  t.true(m.revivedAt('announcer') !== undefined);
  watch.watch(['announcer']);
  const usual = watch.config.intervalMs + watch.config.timeoutMs + 3 * watch.config.indirectTimeoutMs;
  run(clock, usual);
  t.false(watch.failed('announcer'), 'three failed checks of a member just back are not enough');
  run(clock, watch.config.healSilenceMs - usual + watch.config.indirectTimeoutMs + 10);
  t.true(watch.failed('announcer'), 'a silence of healSilenceMs is');
});

test('after the heal grace, the usual confirmRounds apply again', (t) => {
  const { clock, watch } = healed();
  run(clock, watch.config.healGraceMs);
  watch.watch(['announcer']);
  run(clock, watch.config.timeoutMs + 3 * watch.config.indirectTimeoutMs + 10);
  t.true(watch.failed('announcer'));
});

test('right after a heal, a refusal still confirms at once', (t) => {
  const { clock, sent, m, watch } = healed();
  watch.watch(['announcer']);
  sent.length = 0;
  m.unreachable('announcer');
  for (const r of sent) if (r.msg.type === 'ping-req') m.handle({ type: 'nack', seq: r.msg.seq, from: r.to });
  t.true(watch.failed('announcer'));
  t.is(clock.now(), 0);
});

test('a member that sends anything during a check (a late answer) is slow, not hung: no verdict', (t) => {
  const { clock, sent, m, watch } = healed();
  run(clock, watch.config.healGraceMs); // past the heal grace: the usual rounds
  watch.watch(['announcer']);
  const pings = (): number[] =>
    sent.flatMap((s) => (s.to === 'announcer' && s.msg.type === 'ping' ? [s.msg.seq] : []));
  // It answers every check, each just after that check's deadline.
  for (let i = 0; i < 10; i++) {
    const before = pings().at(-1);
    run(clock, watch.config.timeoutMs + watch.config.indirectTimeoutMs + 5);
    if (before !== undefined) m.handle({ type: 'ack', seq: before, from: 'announcer', piggyback: [] });
  }
  t.false(watch.failed('announcer'));
  // Then silence: the verdict comes (the check running when the last answer came counts it).
  run(clock, 2 * (watch.config.intervalMs + watch.config.timeoutMs + 3 * watch.config.indirectTimeoutMs));
  t.true(watch.failed('announcer'));
});
