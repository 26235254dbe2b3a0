import test from 'ava';
import pino from 'pino';
import { VirtualClock } from '../../src/clock/index.ts';
import { Handoff } from '../../src/speaker/handoff.ts';
import type { Held } from '../../src/speaker/plan.ts';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A Handoff over recording fakes; `held` IPs answered for. */
function setup(held: string[], timeoutMs = 1_000) {
  const clock = new VirtualClock();
  const log: string[] = [];
  const map = new Map<string, Held>(
    held.map((ip) => [ip, { ip, interfaces: [], epoch: 1, since: new Date(0) }]),
  );
  const handoff = new Handoff({
    clock,
    log: pino({ level: 'silent' }),
    timeoutMs,
    mesh: {
      membership: { leave: () => log.push('leave') } as never,
      watch: { stop: () => log.push('watch stopped') } as never,
    },
    announcer: {
      held: map,
      clear: () => {
        log.push('cleared');
        map.clear();
      },
    },
    reconcile: { request: () => log.push('reconcile'), stop: () => log.push('reconcile stopped') },
    wire: { stop: () => log.push('wire stopped') },
  });
  return { clock, log, held: map, handoff };
}

test('not started: stop does nothing (the other parts close what they opened)', async (t) => {
  const s = setup(['192.0.2.1']);
  t.false(s.handoff.acting);
  s.handoff.handoff = true;
  await s.handoff.stop();
  t.deepEqual(s.log, []);
});

test('without hand-off: leaves, then stops answering at once', async (t) => {
  const s = setup(['192.0.2.1']);
  s.handoff.start();
  t.true(s.handoff.acting);
  await s.handoff.stop();
  t.deepEqual(s.log, ['watch stopped', 'leave', 'reconcile stopped', 'wire stopped', 'cleared']);
  t.is(s.clock.pending, 0);
});

test('with hand-off: keeps answering until every IP is handed off, then stops answering', async (t) => {
  const s = setup(['192.0.2.1', '192.0.2.2']);
  s.handoff.start();
  s.handoff.handoff = true;
  let stopped = false;
  const stopping = s.handoff.stop().then(() => (stopped = true));
  await settle();
  t.deepEqual(s.log, ['watch stopped', 'leave', 'reconcile'], 'left, and asked for a reconcile');
  t.false(stopped, 'still answering: the successors have not claimed yet');
  s.held.clear(); // the reconciles withdrew both (successors' claims arrived)
  s.handoff.handedOff();
  await stopping;
  t.deepEqual(s.log.slice(3), ['reconcile stopped', 'wire stopped', 'cleared']);
  t.is(s.clock.pending, 0, 'the hand-off deadline is cancelled: no timer outlives stop()');
  t.is(s.clock.now(), 0);
});

test('with hand-off: gives up after timeoutMs; a second stop is a no-op', async (t) => {
  const s = setup(['192.0.2.1'], 500);
  s.handoff.start();
  s.handoff.handoff = true;
  const stopping = s.handoff.stop();
  await settle();
  t.is(s.clock.pending, 1);
  await s.clock.advanceAsync(500);
  await stopping;
  t.deepEqual(s.log.slice(-3), ['reconcile stopped', 'wire stopped', 'cleared']);
  const before = s.log.length;
  await s.handoff.stop();
  t.is(s.log.length, before);
});

test('with hand-off but nothing held: leaves at once', async (t) => {
  const s = setup([]);
  s.handoff.start();
  s.handoff.handoff = true;
  await s.handoff.stop();
  t.deepEqual(s.log, ['watch stopped', 'leave', 'reconcile stopped', 'wire stopped', 'cleared']);
});
