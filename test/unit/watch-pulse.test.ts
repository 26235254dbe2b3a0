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
  peersSet: { id: Uint8Array; key: Uint8Array }[][] = [];
  watchedSet: { id: Uint8Array; key: Uint8Array; silenceMs: number; address?: string; port?: number }[][] =
    [];
  renewals = 0;
  closed = false;
  /** id hex → virtual time of the last pulse. */
  readonly last = new Map<string, number>();
  #listener: ((e: PulseEvent, id: string, ago: number) => void) | undefined;
  readonly clock: VirtualClock;
  constructor(clock: VirtualClock) {
    this.clock = clock;
  }
  peers(p: readonly { id: Uint8Array; key: Uint8Array }[]): void {
    this.peersSet.push([...p]);
  }
  watch(
    w: readonly { id: Uint8Array; key: Uint8Array; silenceMs: number; address?: string; port?: number }[],
  ): void {
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
  stats(): undefined {
    return undefined;
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
  /** Only the event (the thread's time of the last pulse unchanged). */
  emit(node: string, event: PulseEvent): void {
    this.#listener?.(event, Buffer.from(pulseIdOf(node)).toString('hex'), 0);
  }
  silent(node: string): void {
    this.#listener?.('silent', Buffer.from(pulseIdOf(node)).toString('hex'), 15);
  }
}

function setup(host?: 'refused' | 'up' | 'none') {
  const clock = new VirtualClock();
  const sent: { to: string; msg: DirectMessage }[] = [];
  const transport: MeshTransport = {
    send: (to, _endpoint, msg) => sent.push({ to, msg }),
    broadcast: () => undefined,
  };
  // No probe rounds in these tests' time: every ping counted is the watch's.
  const m = new Membership({
    node: 'heir',
    clock,
    transport,
    incarnation: 1,
    config: { probeIntervalMs: 3_600_000 },
  });
  m.seed(['announcer', 'h1', 'h2', 'h3'].map((node) => ({ node, state: 'alive' as const, incarnation: 1 })));
  m.start();
  const link = new FakeLink(clock);
  const key = new Uint8Array(16).fill(1);
  const members = ['announcer', 'h1', 'h2', 'h3'];
  const pulses = new Pulses({
    clock,
    link,
    address: '10.0.0.1',
    port: 7948,
    peers: {
      members: () => members,
      address: (node) =>
        node === 'unknown' ? undefined : node === 'v6' ? 'fd00::1' : `10.0.0.${node.length}`,
      key: (node) => (node === 'unknown' ? undefined : key),
    },
  });
  pulses.start();
  const watch = new FastWatch({
    clock,
    membership: m,
    pulses,
    ...(host === undefined
      ? {}
      : {
          probeHost: (_node: string, _timeoutMs: number, done: (a: 'refused' | 'up' | 'none') => void) => {
            clock.setTimeout(() => {
              done(host);
            }, 1);
          },
        }),
  });
  const pingsTo = (node: string) => sent.filter((s) => s.to === node && s.msg.type === 'ping');
  /** The verdicts (`via`) as they come. */
  const verdicts: (string | undefined)[] = [];
  watch.onChange((_n, failed, via) => {
    if (failed) verdicts.push(via);
  });
  /** Watches the announcer, hears its first pulse and acks the watch's first check. */
  const pulsing = (): void => {
    watch.watch(['announcer']);
    link.pulse('announcer', 'heard');
    const first = pingsTo('announcer')[0];
    if (first?.msg.type === 'ping')
      m.handle({ type: 'ack', seq: first.msg.seq, from: 'announcer', piggyback: [] });
  };
  return { clock, sent, m, link, pulses, watch, pingsTo, members, verdicts, pulsing };
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
  t.is(pingsTo('announcer').length, 2, 'no check of a pulsing announcer in a second but the backstop');
  t.true(pingsTo('h1').length >= 45, 'the other is checked every intervalMs');
  t.false(watch.failed('announcer'));
});

test('a silence that one check confirms is a verdict at once: no confirming rounds', (t) => {
  const { clock, sent, link, watch, pingsTo, m, pulsing } = setup();
  pulsing();
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
  const { clock, link, watch, pingsTo, m, pulsing } = setup();
  pulsing();
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
  const { clock, link, watch, pingsTo, m, pulsing } = setup();
  pulsing();
  clock.advance(50);
  link.silent('announcer');
  const p = pingsTo('announcer').at(-1);
  if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'announcer', piggyback: [] });
  // Now one lost check is one failure, not a verdict.
  clock.advance(watch.config.intervalMs + watch.config.timeoutMs + watch.config.indirectTimeoutMs);
  t.false(watch.failed('announcer'));
});

test('Pulses: members’ keys and the watched set go to the link when they change; where to subscribe when known', (t) => {
  const { link, pulses, clock, members } = setup();
  t.deepEqual(
    link.peersSet.at(-1)?.map((p) => Buffer.from(p.id).toString('hex')),
    ['announcer', 'h1', 'h2', 'h3'].map((n) => Buffer.from(pulseIdOf(n)).toString('hex')),
    'every member with a key, at start',
  );
  const calls = link.watchedSet.length;
  pulses.watch(['h1', 'unknown', 'v6']);
  pulses.watch(['v6', 'h1', 'unknown']);
  t.is(link.watchedSet.length, calls + 1, 'the same set twice is one call');
  t.deepEqual(
    link.watchedSet.at(-1)?.map((w) => [w.address, w.port]),
    [
      ['10.0.0.2', 7948],
      [undefined, undefined],
    ],
    'h1 subscribed to at its address; v6 (another family) watched without: it cannot be asked; unknown has no key',
  );
  t.deepEqual(pulses.state, { peers: 4, watching: 2 });
  // A member joins: its key goes to the link at the next renewal (a third of the lease).
  members.push('h4');
  const r = link.renewals;
  clock.advance(pulses.config.pulseLeaseMs);
  t.is(link.renewals, r + 3);
  t.is(link.peersSet.at(-1)?.length, 5);
  pulses.stop();
  t.true(link.closed);
  clock.advance(pulses.config.pulseLeaseMs);
  t.is(link.renewals, r + 3, 'no renewal after stop');
});

test('a stale heard event (no pulse in the thread’s own time) is ignored: the checks go on', (t) => {
  const { clock, link, watch, pingsTo, m } = setup();
  watch.watch(['announcer']);
  link.pulse('announcer');
  clock.advance(watch.config.pulseSilenceMs + 1);
  // The event arrives late, after its pulse aged past the silence threshold.
  link.emit('announcer', 'heard');
  const p = pingsTo('announcer')[0];
  if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'announcer', piggyback: [] });
  t.false(watch.hears('announcer'));
  const before = pingsTo('announcer').length;
  clock.advance(watch.config.intervalMs);
  t.is(pingsTo('announcer').length, before + 1, 'checked at the interval, as without a pulse');
});

test('while an announcer pulses: one backstop check a second, and hears() says so', (t) => {
  const { clock, link, watch, pingsTo, m } = setup();
  watch.watch(['announcer']);
  const first = pingsTo('announcer')[0];
  if (first?.msg.type === 'ping')
    m.handle({ type: 'ack', seq: first.msg.seq, from: 'announcer', piggyback: [] });
  link.pulse('announcer', 'heard');
  t.true(watch.hears('announcer'));
  t.false(watch.hears('h1'), 'not watched');
  const before = pingsTo('announcer').length;
  for (let i = 0; i < 200; i++) {
    clock.advance(10);
    link.pulse('announcer');
    const p = pingsTo('announcer').at(-1);
    if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'announcer', piggyback: [] });
  }
  const backstop = pingsTo('announcer').length - before;
  t.is(backstop, 2, 'one backstop check a second');
  // Its pulses stop: hears() turns false within the silence threshold, before any event.
  clock.advance(watch.config.pulseSilenceMs + 1);
  t.false(watch.hears('announcer'));
});

test('a failed announcer no longer watched keeps its verdict until it answers again or the mesh declares it dead', (t) => {
  const { clock, link, watch, pingsTo, m, pulsing } = setup();
  pulsing();
  clock.advance(50);
  link.silent('announcer');
  clock.advance(watch.config.pulseConfirmMs);
  t.true(watch.failed('announcer'));
  // Its IPs moved on in this node's view: nobody asks to watch it any more.
  watch.watch([]);
  t.true(watch.failed('announcer'), 'the verdict stays');
  t.deepEqual(watch.watching, ['announcer'], 'and it is still checked, to see it come back');
  // It answers a check: the verdict is withdrawn and the watch ends.
  clock.advance(watch.config.intervalMs);
  const p = pingsTo('announcer').at(-1);
  if (p?.msg.type === 'ping') m.handle({ type: 'ack', seq: p.msg.seq, from: 'announcer', piggyback: [] });
  t.false(watch.failed('announcer'));
  t.deepEqual(watch.watching, []);
  // Failed again, then the mesh declares it dead: the watch ends, the mesh's state rules.
  watch.watch(['announcer']);
  link.pulse('announcer', 'heard');
  clock.advance(50);
  link.silent('announcer');
  clock.advance(100); // the check in flight when it fell silent, then the confirming one
  t.true(watch.failed('announcer'));
  watch.watch([]);
  m.handle({
    type: 'gossip',
    from: 'h1',
    updates: [{ kind: 'dead', node: 'announcer', incarnation: 1, from: 'h1' }],
  } as never);
  clock.advance(watch.config.intervalMs + watch.config.timeoutMs + watch.config.indirectTimeoutMs);
  t.is(m.stateOf('announcer'), 'dead');
  t.deepEqual(watch.watching, []);
});

test('a silent announcer whose host still answers (stopped or starved) has pulseStallMs; a silent host, none', (t) => {
  for (const host of ['up', 'none'] as const) {
    const { clock, link, watch, pulsing, verdicts } = setup(host);
    pulsing();
    clock.advance(50);
    const t0 = clock.now();
    link.silent('announcer');
    clock.advance(watch.config.pulseConfirmMs);
    if (host === 'none') {
      t.deepEqual(verdicts, ['silence'], 'cut off: the verdict at pulseConfirmMs');
      continue;
    }
    t.deepEqual(verdicts, [], 'its kernel answers: not yet');
    clock.advance(watch.config.pulseStallMs);
    t.deepEqual(
      verdicts,
      ['stall'],
      `stopped: the verdict after pulseStallMs (${watch.config.pulseStallMs} ms)`,
    );
    t.true(clock.now() - t0 <= watch.config.pulseStallMs + watch.config.pulseConfirmMs);
  }
  // Starved, then back: a pulse during the stall clears it.
  const { clock, link, watch, pulsing } = setup('up');
  pulsing();
  clock.advance(50);
  link.silent('announcer');
  clock.advance(40);
  link.pulse('announcer', 'heard');
  clock.advance(watch.config.pulseStallMs * 2);
  t.false(watch.failed('announcer'));
});

test('a silence of an announcer never heard since the watch began is no silence: its checks decide', (t) => {
  const { clock, link, watch, verdicts } = setup('none');
  watch.watch(['announcer']);
  link.silent('announcer'); // its subscription not answered yet (this node just back from a cut)
  clock.advance(3 * watch.config.pulseConfirmMs);
  t.deepEqual(verdicts, [], 'no fast verdict');
  clock.advance(10 * watch.config.intervalMs);
  t.deepEqual(verdicts, ['checks'], 'the checks, with their confirming rounds');
});

test('a watch begun while the pulses already arrive counts as hearing them: its silence is fast', (t) => {
  // The link kept the announcer from an earlier watch (a failed one, retired then
  // dropped here): its thread reports no 'heard' event for pulses it hears already.
  const { clock, link, watch, verdicts } = setup('none');
  link.pulse('announcer');
  watch.watch(['announcer']);
  t.deepEqual(watch.pulsing, ['announcer']);
  clock.advance(50);
  link.silent('announcer');
  clock.advance(watch.config.pulseConfirmMs);
  t.deepEqual(verdicts, ['silence']);
});

test('a refused knock decides at once, on any node; an accepted one waits the stall', (t) => {
  for (const host of ['refused', 'up'] as const) {
    const { clock, link, watch, m, pulsing, verdicts } = setup(host);
    // Lifeguard's local health down (a node just restarted, or back from a cut).
    Object.defineProperty(m, 'awareness', { get: () => 2 });
    pulsing();
    clock.advance(50);
    link.silent('announcer');
    clock.advance(watch.config.pulseConfirmMs);
    if (host === 'refused') {
      t.deepEqual(verdicts, ['refused'], 'its kernel refused: gone, no stall window');
      continue;
    }
    t.deepEqual(verdicts, [], 'its kernel accepts: not yet');
    clock.advance(watch.config.pulseStallMs);
    t.deepEqual(verdicts, ['stall']);
  }
});

test('another member’s suspicion: ignored while its pulses arrive here; else a knock and a check at once', (t) => {
  const { clock, watch, pingsTo, pulsing } = setup('none');
  pulsing();
  const before = pingsTo('announcer').length;
  watch.suspected('announcer');
  t.is(pingsTo('announcer').length, before, 'its pulses arrive: another’s suspicion is loss somewhere else');
  clock.advance(watch.config.pulseSilenceMs + 1); // silent here too, the thread has not said so yet
  watch.suspected('announcer');
  t.is(pingsTo('announcer').length, before + 1, 'checked now');
  watch.suspected('h1'); // not watched: nothing
  t.is(pingsTo('h1').length, 0);
});
