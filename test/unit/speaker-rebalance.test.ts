import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { RebalancePacer } from '../../src/speaker/rebalance.ts';

test('one rebalancing take per interval; the rest wait, and a reconcile is asked for when the next may go', (t) => {
  const clock = new VirtualClock();
  let reconciles = 0;
  const pacer = new RebalancePacer({ clock, intervalMs: 250, reconcile: () => reconciles++ });
  pacer.start();
  t.deepEqual([...pacer.admit(['a', 'b', 'c'])], ['a'], 'the first goes at once');
  t.deepEqual([...pacer.admit(['b', 'c'])], [], 'within the interval: none');
  clock.advance(249);
  t.is(reconciles, 0);
  clock.advance(1);
  t.is(reconciles, 1, 'one reconcile when the interval is over (not one per waiting address)');
  t.deepEqual([...pacer.admit(['b', 'c'])], ['b']);
  clock.advance(250);
  t.is(reconciles, 2);
  t.deepEqual([...pacer.admit(['c'])], ['c']);
  clock.advance(1_000);
  t.is(reconciles, 2, 'nothing waits: no more reconciles');
});

test('interval 0: no pacing, every take at once; stop cancels the pending reconcile', (t) => {
  const clock = new VirtualClock();
  let reconciles = 0;
  const pacer = new RebalancePacer({ clock, intervalMs: 0, reconcile: () => reconciles++ });
  pacer.start();
  t.deepEqual([...pacer.admit(['a', 'b'])], ['a', 'b']);
  t.is(reconciles, 0);
  const slow = new RebalancePacer({ clock, intervalMs: 250, reconcile: () => reconciles++ });
  slow.start();
  slow.admit(['x', 'y']);
  slow.stop();
  const before = reconciles;
  clock.advance(1_000);
  t.is(reconciles, before, 'no reconcile after stop()');
});
