import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { DelayedSync } from '../../src/controller/delayed-sync.ts';

test('a burst of requests is one run, delayMs after the first; none before start or after stop', async (t) => {
  const clock = new VirtualClock();
  let runs = 0;
  const sync = new DelayedSync(clock, 1_000, () => {
    runs++;
    return Promise.resolve();
  });
  sync.request();
  await clock.advanceAsync(5_000);
  t.is(runs, 0, 'not started');
  sync.start();
  for (let i = 0; i < 100; i++) sync.request();
  await clock.advanceAsync(999);
  t.is(runs, 0);
  await clock.advanceAsync(1);
  t.is(runs, 1);
  sync.request();
  sync.stop();
  await clock.advanceAsync(5_000);
  t.is(runs, 1, 'stopped: the pending run is cancelled');
});

test('a request made while a run is under way makes exactly one more run after it', async (t) => {
  const clock = new VirtualClock();
  const gates: (() => void)[] = [];
  let runs = 0;
  const sync = new DelayedSync(clock, 10, () => {
    runs++;
    return new Promise<void>((resolve) => gates.push(resolve));
  });
  sync.start();
  const first = sync.now();
  t.is(runs, 1);
  void sync.now();
  void sync.now();
  gates.shift()?.();
  await Promise.resolve();
  await Promise.resolve();
  t.is(runs, 2, 'one more for both requests');
  gates.shift()?.();
  await first;
  t.is(runs, 2);
});
