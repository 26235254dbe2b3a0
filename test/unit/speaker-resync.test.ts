import test from 'ava';
import pino from 'pino';
import { VirtualClock } from '../../src/clock/index.ts';
import type { Endpoint, MemberState } from '../../src/mesh/index.ts';
import { RESYNC_ASKS_PER_ROUND, RESYNC_ROUNDS, Resync } from '../../src/speaker/resync.ts';

const PEER = { node: 'n2', endpoint: { peerId: 'p2', addrs: [] } satisfies Endpoint };

function setup() {
  const clock = new VirtualClock();
  let changes = 0;
  const resync = new Resync({
    clock,
    log: pino({ level: 'silent' }),
    reconnectIntervalMs: 1_000,
    onChange: () => {
      changes++;
    },
  });
  const joined: string[] = [];
  const begin = (): void => {
    resync.begin(
      () => PEER,
      (e) => joined.push(e.peerId),
    );
  };
  return { clock, resync, joined, begin, changes: () => changes };
}

const dead = new Map<string, MemberState>([['n3', 'dead']]);
const fine = new Map<string, MemberState>([['n3', 'alive']]);

test('holds takes back until a push-pull and no dead member, or RESYNC_ROUNDS intervals', async (t) => {
  const s = setup();
  t.true(s.resync.after('its link is up again'));
  t.false(s.resync.after('again'), 'one pending at a time');
  s.begin();
  t.deepEqual(s.joined, ['p2'], 'asks a live member for the standing claims');
  s.begin();
  t.deepEqual(s.joined, ['p2'], 'once');
  t.true(s.resync.holds(dead));
  t.true(s.resync.heard());
  t.true(s.resync.holds(dead), 'a member still believed dead keeps it going');
  await s.clock.advanceAsync(RESYNC_ROUNDS * 1_000);
  t.is(s.changes(), 1, 'the end of the wait asks for a reconcile');
  t.false(s.resync.holds(dead));
  t.true(s.resync.after('again'), 'over: a new one may start');
  s.begin();
  t.true(s.resync.heard());
  t.false(s.resync.holds(fine), 'heard, and nobody dead or suspect: over');
});

test('stop cancels the wait, and nothing is armed after it', async (t) => {
  const s = setup();
  s.resync.start();
  s.resync.after('cut off');
  s.begin();
  t.is(s.clock.pending, 2, 'the end of the wait, and the next ask');
  s.resync.stop();
  t.is(s.clock.pending, 0);
  s.resync.standDown();
  s.begin();
  t.is(s.clock.pending, 0, 'begin() after stop() arms no timer');
  t.deepEqual(s.joined, ['p2']);
  await s.clock.advanceAsync(10_000);
  t.is(s.changes(), 0);
});

test('asks again for the standing claims until they come: a first ask on a link just up is often lost', async (t) => {
  const s = setup();
  s.resync.after('its link is up again');
  s.begin();
  t.deepEqual(s.joined, ['p2']);
  const every = 1_000 / RESYNC_ASKS_PER_ROUND;
  await s.clock.advanceAsync(every);
  t.is(s.changes(), 1, 'a reconcile, to ask again');
  s.begin();
  t.deepEqual(s.joined, ['p2', 'p2'], 'asked again');
  t.true(s.resync.heard());
  await s.clock.advanceAsync(every);
  t.is(s.changes(), 1, 'no more asks once they came');
  s.begin();
  t.deepEqual(s.joined, ['p2', 'p2']);
  t.false(s.resync.holds(fine), 'heard, and nobody dead or suspect: over');
});
