// The close watch with the pulse (mesh/pulse.ts, watch.ts): no checks while
// an announcer pulses; a silence is confirmed by one check, and decides alone.
import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import {
  FastWatch,
  Membership,
  pulseIdOf,
  Pulses,
  type PulseEvent,
  type PulseLink,
} from '../../src/mesh/index.ts';
import type { DirectMessage } from '../../src/mesh/messages.ts';
import type { MeshTransport } from '../../src/mesh/transport.ts';

/** A link whose thread is the test: it records what it was told and emits what the test says. */
class FakeLink implements PulseLink {
  readonly port = 7948;
  targetsSet: { address: string; port: number; key: Uint8Array }[][] = [];
  watchedSet: { id: Uint8Array; key: Uint8Array; silenceMs: number }[][] = [];
  renewals = 0;
  closed = false;
  /** id hex → virtual time of the last pulse. */
  readonly last = new Map<string, number>();
  #listener: ((e: PulseEvent, id: string, ago: number) => void) | undefined;
  readonly clock: VirtualClock;
  constructor(clock: VirtualClock) {
    this.clock = clock;
  }
  targets(t: readonly { address: string; port: number; key: Uint8Array }[]): void {
    this.targetsSet.push([...t]);
  }
  watch(w: readonly { id: Uint8Array; key: Uint8Array; silenceMs: number }[]): void {
    this.watchedSet.push([...w]);
  }
  renew(): void {
    this.renewals++;
  }
  heardAgoMs(id: Uint8Array): number | undefined {
    const at = this.last.get(Buffer.from(id).toString('hex'));
    return at === undefined ? undefined : this.clock.now() - at;
  }
  onEvent(l: (e: PulseEvent, id: string, ago: number) => void): void {
    this.#listener = l;
  }
  close(): void {
    this.closed = true;
  }
  /** A pulse from `node` arrives; `event` if the thread would report one. */
  pulse(node: string, event?: PulseEvent): void {
    const id = Buffer.from(pulseIdOf(node)).toString('hex');
    this.last.set(id, this.clock.now());
    if (event !== undefined) this.#listener?.(event, id, 0);
  }
  silent(node: string): void {
    this.#listener?.('silent', Buffer.from(pulseIdOf(node)).toString('hex'), 15);
  }
}

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
  const link = new FakeLink(clock);
  const key = new Uint8Array(16).fill(1);
  const pulses = new Pulses({
    clock,
    link,
    port: 7948,
    peers: { reach: (node) => (node === 'unknown' ? undefined : { address: `10.0.0.${node.length}`, key }) },
  });
  pulses.start();
  const watch = new FastWatch({ clock, membership: m, pulses });
  const pingsTo = (node: string) => sent.filter((s) => s.to === node && s.msg.type === 'ping');
  return { clock, sent, m, link, pulses, watch, pingsTo };
}

test('an announcer that pulses is not checked; one that does not is checked every interval', (t) => {
  const { clock, link, watch, pingsTo, m } = setup();
  watch.watch(['announcer', 'h1']);
  t.deepEqual(
    link.watchedSet.at(-1)?.map((w) => Buffer.from(w.id).toString('hex')),
    ['announcer', 'h1'].map((n) => Buffer.from(pulseIdOf(n)).toString('hex')),
    'both are watched by the thread, with the silence threshold',
  );
  t.is(link.watchedSet.at(-1)?.[0]?.silenceMs, watch.config.pulseSilenceMs);
  // The first checks go before any pulse is heard.
  t.is(pingsTo('announcer').length, 1);
  link.pulse('announcer', 'heard');
  t.deepEqual(watch.pulsing, ['announcer']);
  // Acks end the first checks; afterwards only h1 (no pulse) is checked.
  for (const node of ['announcer', 'h1']) {
    const p = pingsTo(node)[0];
    if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: node, piggyback: [] });
  }
  for (let i = 0; i < 50; i++) {
    clock.advance(watch.config.intervalMs);
    link.pulse('announcer');
    const p = pingsTo('h1').at(-1);
    if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'h1', piggyback: [] });
  }
  // (The mesh's own probe rounds still reach it now and then: a few pings, not one per interval.)
  t.true(pingsTo('announcer').length <= 5, 'no check of a pulsing announcer in a second');
  t.true(pingsTo('h1').length >= 45, 'the other is checked every intervalMs');
  t.false(watch.failed('announcer'));
});

test('a silence that one check confirms is a verdict at once: no confirming rounds', (t) => {
  const { clock, sent, link, watch, pingsTo, m } = setup();
  watch.watch(['announcer']);
  link.pulse('announcer', 'heard');
  const first = pingsTo('announcer')[0];
  if (first?.msg.type === 'ping')
    m.handle({ type: 'ack', seq: first.msg.seq, from: 'announcer', piggyback: [] });
  clock.advance(100);
  sent.length = 0;
  const t0 = clock.now();
  link.silent('announcer');
  // One confirming check: confirmPings direct pings and the helpers, at once.
  t.is(pingsTo('announcer').length, watch.config.confirmPings);
  t.is(sent.filter((s) => s.msg.type === 'ping-req').length, 3);
  clock.advance(watch.config.pulseConfirmMs - 1);
  t.false(watch.failed('announcer'));
  clock.advance(1);
  t.true(watch.failed('announcer'), 'failed pulseConfirmMs after the silence');
  t.is(clock.now() - t0, watch.config.pulseConfirmMs);
  t.is(m.stateOf('announcer'), 'suspect', 'and the mesh is told');
  // Pulses again: it answers again, and is not checked any more.
  link.pulse('announcer', 'heard');
  t.false(watch.failed('announcer'));
});

test('a pulse during the confirming check (or an ack) means alive: no verdict', (t) => {
  const { clock, link, watch, pingsTo, m } = setup();
  watch.watch(['announcer']);
  link.pulse('announcer', 'heard');
  const first = pingsTo('announcer')[0];
  if (first?.msg.type === 'ping')
    m.handle({ type: 'ack', seq: first.msg.seq, from: 'announcer', piggyback: [] });
  clock.advance(50);
  link.silent('announcer');
  clock.advance(5);
  link.pulse('announcer'); // arrived in the thread; its 'heard' event not yet handled here
  clock.advance(watch.config.pulseConfirmMs);
  t.false(watch.failed('announcer'), 'the pulse the thread timed counts');
  // Not pulsing (no 'heard' yet): checked every interval again, with the usual rounds.
  const before = pingsTo('announcer').length;
  clock.advance(watch.config.intervalMs);
  t.is(pingsTo('announcer').length, before + 1);
  // An announcer that stopped pulsing us but answers: one silence, then an ack.
  const p = pingsTo('announcer').at(-1);
  if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'announcer', piggyback: [] });
  t.false(watch.failed('announcer'));
});

test('the silence decides once: later checks of an announcer that stopped pulsing need their confirming rounds', (t) => {
  const { clock, link, watch, pingsTo, m } = setup();
  watch.watch(['announcer']);
  link.pulse('announcer', 'heard');
  const first = pingsTo('announcer')[0];
  if (first?.msg.type === 'ping')
    m.handle({ type: 'ack', seq: first.msg.seq, from: 'announcer', piggyback: [] });
  clock.advance(50);
  link.silent('announcer');
  const p = pingsTo('announcer').at(-1);
  if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'announcer', piggyback: [] });
  // Now one lost check is one failure, not a verdict.
  clock.advance(watch.config.intervalMs + watch.config.timeoutMs + watch.config.indirectTimeoutMs);
  t.false(watch.failed('announcer'));
});

test('Pulses: targets and watched sets go to the link only when they change; unknown members wait', (t) => {
  const { link, pulses, clock } = setup();
  const before = link.targetsSet.length;
  pulses.pulse(['h1', 'unknown', 'h2']);
  pulses.pulse(['h2', 'h1']);
  t.is(link.targetsSet.length, before + 1, 'the same set twice is one call');
  t.deepEqual(
    link.targetsSet.at(-1)?.map((x) => [x.address, x.port]),
    [
      ['10.0.0.2', 7948],
      ['10.0.0.2', 7948],
    ],
  );
  t.deepEqual(pulses.state, { pulsing: 2, watching: 0 });
  // The lease is renewed every third of it.
  const r = link.renewals;
  clock.advance(pulses.config.pulseLeaseMs);
  t.is(link.renewals, r + 3);
  pulses.stop();
  t.true(link.closed);
  clock.advance(pulses.config.pulseLeaseMs);
  t.is(link.renewals, r + 3, 'no renewal after stop');
});
