import test from 'ava';
import fc from 'fast-check';
import { figureOf, nearestRank, summarise, type Target, type Trial } from '../../lab/chaos/index.ts';

const trial = (
  n: number,
  outageMs: number | null,
  ok = outageMs !== null,
  figures?: Record<string, number>,
): Trial => ({
  trial: n,
  outageMs,
  ok,
  invariants: [],
  ...(figures === undefined ? {} : { figures }),
});
const trials = (values: readonly (number | null)[]): Trial[] => values.map((v, i) => trial(i + 1, v));
const outage = (bounds: Partial<Target> = {}): Target => ({ figure: 'outageMs', text: 'outage', ...bounds });

test('nearest rank: the textbook example (15, 20, 35, 40, 50)', (t) => {
  const v = [15, 20, 35, 40, 50];
  t.is(nearestRank(v, 5), 15);
  t.is(nearestRank(v, 30), 20);
  t.is(nearestRank(v, 40), 20);
  t.is(nearestRank(v, 50), 35);
  t.is(nearestRank(v, 99), 50);
  t.is(nearestRank(v, 100), 50);
  t.is(nearestRank([], 50), null);
});

test('nearest rank: p99 of 100 values is the 99th, of 101 the 100th', (t) => {
  const v = Array.from({ length: 101 }, (_, i) => i + 1);
  t.is(nearestRank(v.slice(0, 100), 99), 99);
  t.is(nearestRank(v, 99), 100);
  t.is(nearestRank([7], 99), 7);
});

test('nearest rank is the smallest value with at least p % of the values at or below it', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom(1, 25, 50, 90, 99, 100),
      (values, p) => {
        const sorted = [...values].sort((a, b) => a - b);
        const r = nearestRank(sorted, p);
        const atOrBelow = (x: number): number => sorted.filter((v) => v <= x).length;
        // integer arithmetic: count / n >= p / 100
        const enough = (x: number): boolean => atOrBelow(x) * 100 >= p * sorted.length;
        const expected = sorted.find(enough);
        t.is(r, expected ?? null);
      },
    ),
  );
});

test('summarise: p50, p99 and max over the measured trials; nulls are left out of n', (t) => {
  const s = summarise(trials([120, null, 80, 300, 100]), outage());
  t.deepEqual(s, { n: 4, p50: 100, p99: 300, max: 300, met: false }); // the null trial is not ok
});

test('summarise: no trials is nothing to judge', (t) => {
  t.deepEqual(summarise([], outage({ p99: 300 })), { n: 0, p50: null, p99: null, max: null, met: null });
  t.deepEqual(summarise([], outage()), { n: 0, p50: null, p99: null, max: null, met: null });
});

test('summarise: all outages null is not met', (t) => {
  t.deepEqual(summarise(trials([null, null]), outage({ p99: 300 })), {
    n: 0,
    p50: null,
    p99: null,
    max: null,
    met: false,
  });
});

test('summarise: a bound with nothing measured is not met even when the trials say ok', (t) => {
  const s = summarise([trial(1, null, true)], outage({ max: 20 }));
  t.is(s.met, false);
  // a text-only target (no bound) is judged by the trials alone
  t.is(summarise([trial(1, null, true)], outage()).met, true);
});

test('summarise: met when every trial is ok and each bound holds, bounds inclusive', (t) => {
  const ok = trials([150, 200, 180, 300]);
  t.is(summarise(ok, outage({ p50: 200, p99: 300 })).met, true);
  t.is(summarise(ok, outage({ p50: 179, p99: 300 })).met, false); // p50 is 180
  t.is(summarise(ok, outage({ p99: 299 })).met, false);
  t.is(summarise(ok, outage({ max: 300 })).met, true);
  t.is(summarise(ok, outage({ max: 299 })).met, false);
  const oneFailed = ok.map((x, i) => (i === 0 ? { ...x, ok: false } : x));
  t.is(summarise(oneFailed, outage({ p99: 1000 })).met, false);
});

test('summarise: target.figure names a key of figures; trials without it are left out', (t) => {
  const ts = [
    trial(1, 100, true, { tcpGapMs: 250 }),
    trial(2, 110, true, { tcpGapMs: 400 }),
    trial(3, 120, true, {}),
    trial(4, 130, true),
  ];
  const s = summarise(ts, { figure: 'tcpGapMs', p99: 500, text: 'tcp' });
  t.deepEqual(s, { n: 2, p50: 250, p99: 400, max: 400, met: true });
  t.is(figureOf(ts[0] as Trial, 'outageMs'), 100);
  t.is(figureOf(ts[0] as Trial, 'nope'), null);
  t.is(figureOf(trial(1, Number.NaN, true), 'outageMs'), null);
});

test('summarise: p50 ≤ p99 ≤ max, all drawn from the values; met matches the bounds', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.double({ min: 0, max: 1e5, noNaN: true }), { nil: null }), { maxLength: 60 }),
      fc.option(fc.integer({ min: 0, max: 1e5 }), { nil: undefined }),
      (values, p99) => {
        const target = p99 === undefined ? outage() : outage({ p99 });
        const s = summarise(trials(values), target);
        const measured = values.filter((v) => v !== null);
        t.is(s.n, measured.length);
        if (measured.length === 0) {
          t.true(s.p50 === null && s.p99 === null && s.max === null);
        } else {
          const [p50, q99, max] = [s.p50 ?? Number.NaN, s.p99 ?? Number.NaN, s.max ?? Number.NaN];
          t.true(p50 <= q99 && q99 <= max);
          t.true(measured.includes(p50) && measured.includes(q99));
          t.is(max, Math.max(...measured));
        }
        if (values.length === 0) t.is(s.met, null);
        else
          t.is(s.met, measured.length === values.length && (p99 === undefined || (s.p99 ?? Infinity) <= p99));
      },
    ),
  );
});
