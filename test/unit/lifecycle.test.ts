import test from 'ava';
import {
  OwnedTimers,
  type Startable,
  startAll,
  stopAll,
  stopOnly,
  VirtualClock,
} from '../../src/clock/index.ts';

function part(name: string, log: string[], fail?: 'start' | 'stop'): Startable {
  return {
    start: async () => {
      await Promise.resolve();
      if (fail === 'start') throw new Error(`${name} cannot start`);
      log.push(`start ${name}`);
    },
    stop: () => {
      log.push(`stop ${name}`);
      if (fail === 'stop') throw new Error(`${name} cannot stop`);
    },
  };
}

test('startAll starts in order; stopAll stops in the reverse order', async (t) => {
  const log: string[] = [];
  const parts = [part('a', log), part('b', log), part('c', log)];
  await startAll(parts);
  await stopAll(parts);
  t.deepEqual(log, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

test('a part that fails to start is stopped (what it opened), then the ones before it; its error is thrown', async (t) => {
  const log: string[] = [];
  const err = await t.throwsAsync(
    startAll([part('a', log), part('b', log, 'stop'), part('c', log, 'start'), part('d', log)]),
  );
  t.is(err.message, 'c cannot start', "the first failure is the news, not b's failure to stop");
  t.deepEqual(log, ['start a', 'start b', 'stop c', 'stop b', 'stop a'], 'd never started nor stopped');
});

test('stopAll stops every part even when some throw, and throws what they threw', async (t) => {
  const log: string[] = [];
  const one = await t.throwsAsync(stopAll([part('a', log), part('b', log, 'stop')]));
  t.is(one.message, 'b cannot stop');
  t.deepEqual(log, ['stop b', 'stop a']);
  const two = await t.throwsAsync(stopAll([part('a', log, 'stop'), part('b', log, 'stop')]));
  t.true(two instanceof AggregateError);
  t.deepEqual(
    (two as AggregateError).errors.map((e: Error) => e.message),
    ['b cannot stop', 'a cannot stop'],
  );
});

test('OwnedTimers: cancelAll cancels what is armed; fired and cancelled timers leave the set', (t) => {
  const clock = new VirtualClock();
  const timers = new OwnedTimers(clock);
  const fired: string[] = [];
  timers.after(10, () => fired.push('a'));
  const b = timers.after(20, () => fired.push('b'));
  timers.after(30, () => fired.push('c'));
  t.is(timers.size, 3);
  clock.advance(10);
  t.is(timers.size, 2, 'a fired');
  b.cancel();
  t.is(timers.size, 1, 'b cancelled');
  timers.cancelAll();
  t.is(timers.size, 0);
  clock.advance(100);
  t.deepEqual(fired, ['a']);
});

test('stopOnly: nothing to start; its stop runs in its place in the reverse order', async (t) => {
  const log: string[] = [];
  const parts = [stopOnly(() => void log.push('abort requests')), part('identity', log)];
  await startAll(parts);
  await stopAll(parts);
  t.deepEqual(log, ['start identity', 'stop identity', 'abort requests']);
});
