import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { Reachability } from '../../src/speaker/reachability.ts';

function setup(api: 'up' | 'down') {
  const clock = new VirtualClock();
  let probes = 0;
  let reevaluations = 0;
  const r = new Reachability({
    clock,
    probe: () => {
      probes++;
      return api === 'up' ? Promise.resolve() : Promise.reject(new Error('unreachable'));
    },
    onProbed: () => {
      reevaluations++;
    },
  });
  return { clock, r, probes: () => probes, reevaluations: () => reevaluations };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('with the majority: announce and take, and the API server is never asked', async (t) => {
  const s = setup('up');
  t.deepEqual(s.r.evaluate(3, 5), { announce: true, take: true });
  await s.clock.advanceAsync(10_000);
  t.is(s.probes(), 0);
});

test('majority lost, API server reachable: keeps and takes once the API answered since', async (t) => {
  const s = setup('up');
  t.deepEqual(s.r.evaluate(1, 2), { announce: true, take: false }, 'no word from the API server yet');
  await s.clock.advanceAsync(0);
  await settle();
  t.is(s.probes(), 1, 'probed at once');
  t.deepEqual(s.r.evaluate(1, 2), { announce: true, take: true });
  await s.clock.advanceAsync(5_000);
  t.true(s.probes() >= 5, 'probed every third of the grace while the majority is lost');
  t.true(s.reevaluations() >= 5);
});

test('majority and API server lost: keeps within the 3 s grace, takes nothing, then withdraws', async (t) => {
  const s = setup('down');
  t.deepEqual(s.r.evaluate(1, 5), { announce: true, take: false });
  await s.clock.advanceAsync(2_900);
  t.deepEqual(s.r.evaluate(1, 5), { announce: true, take: false });
  await s.clock.advanceAsync(200);
  t.deepEqual(s.r.evaluate(1, 5), { announce: false, take: false });
  // The majority comes back: everything again, and the probes stop.
  t.deepEqual(s.r.evaluate(4, 5), { announce: true, take: true });
  const before = s.probes();
  await s.clock.advanceAsync(10_000);
  t.is(s.probes(), before);
});

test('an API success from before the majority was lost does not allow taking', async (t) => {
  const s = setup('up');
  s.r.evaluate(1, 2);
  await s.clock.advanceAsync(0);
  await settle();
  t.true(s.r.evaluate(1, 2).take, 'the API answered during this minority');
  t.true(s.r.evaluate(2, 2).take, 'majority back');
  await s.clock.advanceAsync(500);
  t.deepEqual(
    s.r.evaluate(1, 2),
    { announce: true, take: false },
    'a new minority: the old answer does not count',
  );
  await s.clock.advanceAsync(0);
  await settle();
  t.true(s.r.evaluate(1, 2).take, 'until the API answers again');
  s.r.stop();
});

test('cut off from everything (majority lost and an API request failed): remembered until cleared; the others failing alone is not', async (t) => {
  const down = setup('down');
  down.r.evaluate(1, 5);
  await down.clock.advanceAsync(0);
  await settle();
  t.not(down.r.cutOffSince, undefined, 'the API did not answer either');
  t.deepEqual(down.r.evaluate(4, 5), { announce: true, take: true }, 'the majority is back');
  t.not(down.r.cutOffSince, undefined, 'still set: the speaker resyncs first');
  down.r.clearCutOff();
  t.is(down.r.cutOffSince, undefined);
  const up = setup('up');
  up.r.evaluate(1, 2); // a 2-node cluster whose peer died
  await up.clock.advanceAsync(0);
  await settle();
  t.deepEqual(up.r.evaluate(1, 2), { announce: true, take: true });
  t.is(up.r.cutOffSince, undefined, 'the API answered: the peer failed, not this node');
});

test('stop cancels the probes, and a majority lost after it arms none', async (t) => {
  const s = setup('up');
  s.r.start();
  s.r.evaluate(1, 2);
  t.is(s.clock.pending, 1, 'a probe is due');
  s.r.stop();
  t.is(s.clock.pending, 0);
  s.r.evaluate(1, 3);
  t.is(s.clock.pending, 0, 'no probe is armed after stop()');
  await s.clock.advanceAsync(10_000);
  t.is(s.probes(), 0);
});
