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
