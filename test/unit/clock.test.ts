import test from 'ava';
import { SystemClock, TimerLimitError, VirtualClock } from '../../src/clock/index.ts';

test('virtual clock fires timers in due order, ties in creation order, without real waiting', (t) => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('c@300'), 300);
  clock.setTimeout(() => fired.push('a@100'), 100);
  clock.setTimeout(() => fired.push('b1@200'), 200);
  clock.setTimeout(() => fired.push('b2@200'), 200);
  const started = performance.now();
  t.is(clock.advance(250), 3);
  t.deepEqual(fired, ['a@100', 'b1@200', 'b2@200']);
  t.is(clock.now(), 250);
  clock.advance(10_000_000);
  t.deepEqual(fired, ['a@100', 'b1@200', 'b2@200', 'c@300']);
  t.true(performance.now() - started < 100, 'ten million virtual ms took no real time');
});

test('now() is the due time while a callback runs, and rescheduled timers fire in the same advance', (t) => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  const tick = (): void => {
    seen.push(clock.now());
    if (seen.length < 5) clock.setTimeout(tick, 30);
  };
  clock.setTimeout(tick, 30);
  clock.advance(1000);
  t.deepEqual(seen, [30, 60, 90, 120, 150]);
  t.is(clock.pending, 0);
});

test('cancelled timers never fire and do not count as pending', (t) => {
  const clock = new VirtualClock();
  let fired = 0;
  const a = clock.setTimeout(() => fired++, 10);
  clock.setTimeout(() => fired++, 20);
  a.cancel();
  a.cancel();
  t.is(clock.pending, 1);
  t.is(clock.nextDue(), 20);
  clock.advance(100);
  t.is(fired, 1);
  t.is(clock.nextDue(), undefined);
});

test('negative and NaN delays run at the current time, after already-due timers', (t) => {
  const clock = new VirtualClock({ start: 5 });
  const order: string[] = [];
  clock.setTimeout(() => order.push('zero'), 0);
  clock.setTimeout(() => order.push('neg'), -7);
  clock.setTimeout(() => order.push('nan'), Number.NaN);
  clock.advance(0);
  t.deepEqual(order, ['zero', 'neg', 'nan']);
  t.is(clock.now(), 5);
});

test('heap order holds for many random timers', (t) => {
  const clock = new VirtualClock();
  const dues: number[] = [];
  let seed = 42;
  for (let i = 0; i < 5000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const due = seed % 10_000;
    clock.setTimeout(() => dues.push(clock.now()), due);
  }
  clock.advance(10_000);
  t.is(dues.length, 5000);
  t.true(dues.every((d, i) => i === 0 || d >= (dues[i - 1] ?? 0)));
});

test('advanceAsync lets awaited sleeps chain in virtual time', async (t) => {
  const clock = new VirtualClock();
  const times: number[] = [];
  const loop = (async () => {
    for (let i = 0; i < 3; i++) {
      await clock.sleep(100);
      times.push(clock.now());
    }
  })();
  await clock.advanceAsync(1000);
  await loop;
  t.deepEqual(times, [100, 200, 300]);
});

test('sleep rejects with the abort reason and its timer is removed', async (t) => {
  const clock = new VirtualClock();
  const ac = new AbortController();
  const p = clock.sleep(100, ac.signal);
  ac.abort(new Error('stop'));
  await t.throwsAsync(p, { message: 'stop' });
  t.is(clock.pending, 0);
  await t.throwsAsync(clock.sleep(5, ac.signal), { message: 'stop' });
});

test('a runaway timer loop is stopped by the limit with a named error', (t) => {
  const clock = new VirtualClock();
  const again = (): void => {
    clock.setTimeout(again, 0);
  };
  clock.setTimeout(again, 0);
  const err = t.throws(() => clock.advance(1, 1000));
  t.is(err.name, 'TimerLimitError');
  t.true(err instanceof TimerLimitError);
});

test('system clock: monotonic now, wall time, and real timers that can be cancelled', async (t) => {
  const clock = new SystemClock();
  const a = clock.now();
  t.true(Math.abs(clock.wallNow() - Date.now()) < 1000);
  let fired = false;
  clock.setTimeout(() => (fired = true), 1).cancel();
  await clock.sleep(5);
  t.false(fired);
  t.true(clock.now() - a >= 4);
});
