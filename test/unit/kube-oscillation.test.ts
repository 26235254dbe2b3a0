import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { OscillationGuard } from '../../src/kube/oscillation.ts';

const KEY = 'ns/web';

test('one or two foreign changes are edits, not a war', (t) => {
  const clock = new VirtualClock();
  const g = new OscillationGuard(clock);
  t.false(g.foreignChange(KEY));
  clock.advance(10_000);
  t.false(g.foreignChange(KEY));
  t.deepEqual(g.verdict(KEY), { write: true });
});

test('three foreign changes within the window pause writes for the backoff', (t) => {
  const clock = new VirtualClock();
  const g = new OscillationGuard(clock);
  g.foreignChange(KEY);
  clock.advance(1_000);
  g.foreignChange(KEY);
  clock.advance(1_000);
  t.true(g.foreignChange(KEY), 'the third change starts the pause (condition + one Event)');
  t.like(g.verdict(KEY), { write: false, backoffMs: 5_000 });
  clock.advance(4_999);
  t.true(g.paused(KEY));
  clock.advance(1);
  t.false(g.paused(KEY), 'quiet for the whole pause: writes resume');
});

test('changes spread wider than the window never pause', (t) => {
  const clock = new VirtualClock();
  const g = new OscillationGuard(clock);
  for (let i = 0; i < 20; i++) {
    t.false(g.foreignChange(KEY));
    clock.advance(30_001);
  }
  t.false(g.paused(KEY));
});

test('a rival that goes on keeps the pause going; a resumed war doubles the backoff up to the max', (t) => {
  const clock = new VirtualClock();
  const g = new OscillationGuard(clock, { maxBackoffMs: 100_000 });
  const war = (): void => {
    g.foreignChange(KEY);
    g.foreignChange(KEY);
    g.foreignChange(KEY);
  };
  war();
  t.like(g.verdict(KEY), { backoffMs: 5_000 });
  clock.advance(4_000);
  t.false(g.foreignChange(KEY), 'during the pause: no new Event');
  t.like(g.verdict(KEY), { write: false, backoffMs: 5_000 }, 'extended from this change');
  clock.advance(5_000);
  t.false(g.paused(KEY));
  t.true(g.foreignChange(KEY), 'one change right after the pause: the war resumes (condition + Event)');
  t.like(g.verdict(KEY), { backoffMs: 10_000 });
  clock.advance(10_000);
  war();
  t.like(g.verdict(KEY), { backoffMs: 20_000 });
  for (let i = 0; i < 4; i++) {
    clock.advance(g.verdict(KEY).write ? 0 : (g.verdict(KEY) as { backoffMs: number }).backoffMs);
    g.foreignChange(KEY);
  }
  t.like(g.verdict(KEY), { backoffMs: 100_000 }, 'capped');
});

test('a patch war of 60 s with a rival writing every second: meshlb writes at most 5 times', (t) => {
  const clock = new VirtualClock();
  const g = new OscillationGuard(clock);
  let writes = 0;
  let ours = true; // the Service holds meshlb's value
  for (let s = 0; s < 60; s++) {
    // meshlb reconciles when the Service differs from what it wants, unless paused.
    if (!ours && g.verdict(KEY).write) {
      writes++;
      ours = true;
    }
    clock.advance(500);
    // The rival writes its value back whenever it differs.
    if (ours) {
      ours = false;
      g.foreignChange(KEY);
    }
    clock.advance(500);
  }
  t.true(writes <= 5, `${writes} writes`);
  t.true(g.paused(KEY));
  // The rival stops: meshlb resumes once the pause is over.
  clock.advance(30 * 60_000);
  t.false(g.paused(KEY));
});

test('forget clears a Service', (t) => {
  const clock = new VirtualClock();
  const g = new OscillationGuard(clock);
  g.foreignChange(KEY);
  g.foreignChange(KEY);
  g.foreignChange(KEY);
  g.forget(KEY);
  t.false(g.paused(KEY));
});
