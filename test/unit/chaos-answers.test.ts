import test from 'ava';
import fc from 'fast-check';
import { doubleAnswers, judgedLength } from '../../lab/chaos/answers.ts';

test('one MAC per round is never a double answer', (t) => {
  const answers = Array.from({ length: 50 }, (_, i) => ({ t: i * 20 + 3, mac: i < 25 ? 'aa' : 'bb' }));
  t.deepEqual(doubleAnswers(answers), []);
});

test('two MACs in consecutive rounds make one stretch; a quiet gap ends it', (t) => {
  const answers = [
    { t: 100, mac: 'aa' },
    { t: 101, mac: 'bb' }, // round 5: two
    { t: 121, mac: 'aa' },
    { t: 122, mac: 'bb' }, // round 6: two
    { t: 141, mac: 'aa' }, // round 7: one (a lost reply does not end the stretch)
    { t: 161, mac: 'aa' },
    { t: 162, mac: 'cc' }, // round 8: two
    { t: 400, mac: 'aa' },
    { t: 401, mac: 'bb' }, // round 20: a new stretch
  ];
  t.deepEqual(doubleAnswers(answers), [
    { from: 100, to: 180, macs: ['aa', 'bb', 'cc'] },
    { from: 400, to: 420, macs: ['aa', 'bb'] },
  ]);
});

test('stretches never overlap, lie within the answers and name at least two MACs', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ t: fc.integer({ min: 0, max: 5_000 }), mac: fc.constantFrom('a', 'b', 'c') })),
      (answers) => {
        const s = doubleAnswers(answers);
        for (let i = 0; i < s.length; i++) {
          const x = s[i] as { from: number; to: number; macs: string[] };
          if (x.macs.length < 2 || x.to <= x.from) return false;
          if (i > 0 && x.from < (s[i - 1] as { to: number }).to) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});

test('a stretch that began during the fault counts from the moment it was lifted', (t) => {
  const s = { from: 1_000, to: 4_200 };
  t.is(judgedLength(s, 1_000), 3_200, 'judged from the start: all of it');
  t.is(judgedLength(s, 3_500), 700, 'from the heal: what is left after it');
  t.is(judgedLength(s, 5_000), 0, 'over before the heal: none of it');
});
