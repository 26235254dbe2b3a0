import test from 'ava';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock/index.ts';
import type { MemberState, Update } from '../../src/mesh/messages.ts';
import { isConfirmation, originIsValid, supersedes, type Known } from '../../src/mesh/rules.ts';
import { Suspicion, suspicionTimeout } from '../../src/mesh/suspicion.ts';
import { LAN_FAST, MeshConfigError, suspicionBounds, validateMeshConfig } from '../../src/mesh/config.ts';

const u = (kind: MemberState, incarnation: number, from = 'a', node = 'x'): Update => ({
  kind,
  node,
  incarnation,
  from,
});
const k = (state: MemberState, incarnation: number): Known => ({ state, incarnation });

const table: [string, Known | undefined, Update, boolean][] = [
  ['alive of an unknown member adds it', undefined, u('alive', 1, 'x'), true],
  ['suspect of an unknown member is ignored', undefined, u('suspect', 1), false],
  ['dead of an unknown member is ignored', undefined, u('dead', 1), false],
  ['alive needs a higher incarnation', k('alive', 3), u('alive', 3, 'x'), false],
  ['higher alive wins', k('alive', 3), u('alive', 4, 'x'), true],
  ['suspect beats alive at equal incarnation', k('alive', 3), u('suspect', 3), true],
  ['stale suspect loses', k('alive', 3), u('suspect', 2), false],
  ['alive refutes suspect only when higher', k('suspect', 3), u('alive', 3, 'x'), false],
  ['refutation: higher alive beats suspect', k('suspect', 3), u('alive', 4, 'x'), true],
  ['equal suspect is not a new suspicion', k('suspect', 3), u('suspect', 3), false],
  ['higher suspect restarts suspicion', k('suspect', 3), u('suspect', 4), true],
  ['dead beats alive at equal incarnation', k('alive', 3), u('dead', 3), true],
  ['dead beats suspect at equal incarnation', k('suspect', 3), u('dead', 3), true],
  ['stale dead loses', k('alive', 4), u('dead', 3), false],
  ['dead is final until a higher alive', k('dead', 3), u('suspect', 9), false],
  ['dead is not reported twice', k('dead', 3), u('dead', 5), false],
  ['higher alive revives the dead', k('dead', 3), u('alive', 4, 'x'), true],
  ['equal alive does not revive the dead', k('dead', 3), u('alive', 3, 'x'), false],
  ['left beats dead at equal incarnation', k('dead', 3), u('left', 3, 'x'), true],
  ['left is final until a higher alive', k('left', 3), u('dead', 3), false],
  ['a rejoin after leaving needs a higher incarnation', k('left', 3), u('alive', 4, 'x'), true],
];

for (const [name, known, update, expected] of table) {
  test(`rules: ${name}`, (t) => {
    t.is(supersedes(known, update), expected);
  });
}

test('rules: equal-incarnation suspicion of a suspect is a confirmation', (t) => {
  t.true(isConfirmation(k('suspect', 3), u('suspect', 3, 'b')));
  t.false(isConfirmation(k('alive', 3), u('suspect', 3, 'b')));
  t.false(isConfirmation(k('suspect', 3), u('suspect', 4, 'b')));
});

test('rules: only a member itself says it is alive or left', (t) => {
  t.true(originIsValid(u('alive', 1, 'x')));
  t.false(originIsValid(u('alive', 1, 'mallory')));
  t.false(originIsValid(u('left', 1, 'mallory')));
  t.true(originIsValid(u('dead', 1, 'mallory')));
});

test('rules (property): precedence is a strict order — no update supersedes itself applied', (t) => {
  const state = fc.constantFrom<MemberState>('alive', 'suspect', 'dead', 'left');
  fc.assert(
    fc.property(state, fc.nat(100), state, fc.nat(100), (ks, ki, us, ui) => {
      const update = u(us, ui, us === 'alive' || us === 'left' ? 'x' : 'a');
      if (!supersedes(k(ks, ki), update)) return true;
      // Once applied, the same update is never "new" again (no gossip loops).
      return !supersedes(k(us, ui), update);
    }),
  );
  t.pass();
});

test('suspicion: timeout falls from max to min with confirmations', (t) => {
  t.is(suspicionTimeout(0, 3, 300, 1200), 1200);
  t.is(suspicionTimeout(3, 3, 300, 1200), 300);
  const one = suspicionTimeout(1, 3, 300, 1200);
  t.true(one < 1200 && one > 300);
  t.is(suspicionTimeout(5, 0, 300, 1200), 300);
});

test('suspicion: confirmations fire the timer earlier, duplicates do not count', (t) => {
  const clock = new VirtualClock();
  let firedAt: number | undefined;
  const s = new Suspicion(clock, {
    from: 'a',
    k: 3,
    min: 300,
    max: 1200,
    onTimeout: () => (firedAt = clock.now()),
  });
  clock.advance(100);
  t.true(s.confirm('b'));
  t.false(s.confirm('b'));
  t.false(s.confirm('a'));
  t.true(s.confirm('c'));
  t.true(s.confirm('d'));
  t.false(s.confirm('e'), 'beyond k confirmations nothing changes');
  t.is(s.confirmations, 3);
  clock.advance(1000);
  t.is(firedAt, 300);
});

test('suspicion: a confirmation after the new deadline fires at once; cancel stops it', (t) => {
  const clock = new VirtualClock();
  let fired = 0;
  const s = new Suspicion(clock, { from: 'a', k: 1, min: 100, max: 1000, onTimeout: () => fired++ });
  clock.advance(500);
  s.confirm('b');
  clock.advance(0);
  t.is(fired, 1);
  const s2 = new Suspicion(clock, { from: 'a', k: 1, min: 100, max: 1000, onTimeout: () => fired++ });
  s2.cancel();
  clock.advance(5000);
  t.is(fired, 1);
  t.is(s.confirmations, 1);
});

test('config: profiles validate, bounds grow per decade, bad values are named errors', (t) => {
  t.notThrows(() => validateMeshConfig(LAN_FAST));
  t.deepEqual(suspicionBounds(LAN_FAST, 10), { min: 250, max: 1000 });
  t.is(suspicionBounds(LAN_FAST, 1000).min, 350);
  const err = t.throws(() => validateMeshConfig({ ...LAN_FAST, indirectTimeoutMs: 10 }));
  t.true(err instanceof MeshConfigError);
  t.is(err.name, 'MeshConfigError');
  t.throws(() => validateMeshConfig({ ...LAN_FAST, probeIntervalMs: Number.NaN }), {
    name: 'MeshConfigError',
  });
});
