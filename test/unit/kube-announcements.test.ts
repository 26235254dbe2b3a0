import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import {
  AnnouncementSchedule,
  classify,
  normalise,
  speakerManager,
  type AnnouncementEntry,
  type DesiredAnnouncement,
  type PlannedWrite,
  type ScheduleInit,
  type WriteKind,
  type WriteOutcome,
} from '../../src/kube/announcements/index.ts';

const T0 = '2026-01-01T00:00:00.000Z';

function entry(ip: string, over: Partial<AnnouncementEntry> = {}): AnnouncementEntry {
  return { ip, node: 'node-1', interfaces: ['eth0'], epoch: 1, since: T0, ...over };
}

function svc(name: string, entries: AnnouncementEntry[], uid = `uid-${name}`): DesiredAnnouncement {
  return { service: { namespace: 'ns', name, uid }, entries };
}

interface Logged {
  at: number;
  write: PlannedWrite;
}

/**
 * Runs the schedule until it is idle or `untilMs`: each write completes at once with
 * `outcome(write)`; waits advance the virtual clock. Returns the writes with their times.
 */
function drain(
  s: AnnouncementSchedule,
  clock: VirtualClock,
  untilMs = Infinity,
  outcome: (w: PlannedWrite) => WriteOutcome = () => ({ result: 'written', requests: 1 }),
): Logged[] {
  const log: Logged[] = [];
  for (;;) {
    const next = s.next();
    if (next === undefined) return log;
    if ('waitMs' in next) {
      if (clock.now() + next.waitMs > untilMs) return log;
      clock.advance(next.waitMs);
      continue;
    }
    log.push({ at: clock.now(), write: next.write });
    s.done(next.write, outcome(next.write));
  }
}

function setup(init: Partial<ScheduleInit> = {}) {
  const clock = new VirtualClock();
  return { clock, s: new AnnouncementSchedule({ clock, ...init }) };
}

// --- the pure helpers ---

test('normalise sorts by address, sorts and de-duplicates interfaces, writes since as RFC 3339', (t) => {
  t.deepEqual(
    normalise([
      entry('198.51.100.9', { interfaces: ['eth1', 'eth0', 'eth1'], since: new Date(Date.UTC(2026, 0, 1)) }),
      entry('198.51.100.10'),
    ]),
    [
      { ip: '198.51.100.10', node: 'node-1', interfaces: ['eth0'], epoch: 1, since: T0 },
      { ip: '198.51.100.9', node: 'node-1', interfaces: ['eth0', 'eth1'], epoch: 1, since: T0 },
    ],
  );
});

const A = normalise([entry('198.51.100.1')]);
const cases: [
  string,
  ReturnType<typeof normalise>,
  ReturnType<typeof normalise> | undefined,
  WriteKind | undefined,
][] = [
  ['nothing written, nothing wanted', [], undefined, undefined],
  ['nothing written, one address', A, undefined, 'announce'],
  ['the same', A, A, undefined],
  ['a new epoch (takeover)', normalise([entry('198.51.100.1', { epoch: 2 })]), A, 'announce'],
  ['another node', normalise([entry('198.51.100.1', { node: 'node-2' })]), A, 'announce'],
  ['a second address', normalise([entry('198.51.100.1'), entry('2001:db8::1')]), A, 'announce'],
  ['an address dropped', [], A, 'withdraw'],
  ['other interfaces', normalise([entry('198.51.100.1', { interfaces: ['eth1'] })]), A, 'update'],
  ['another since', normalise([entry('198.51.100.1', { since: '2026-01-02T00:00:00Z' })]), A, 'update'],
  ['a takeover beats a withdrawal in the same write', normalise([entry('2001:db8::1')]), A, 'announce'],
];
for (const [name, desired, written, kind] of cases)
  test(`classify: ${name}`, (t) => {
    t.is(classify(desired, written), kind);
  });

test('the field manager names the node', (t) => {
  t.is(speakerManager('node-3'), 'meshlb-speaker-node-3');
});

// --- the schedule ---

test('a first announcement is written once; the same desired set again writes nothing', (t) => {
  const { clock, s } = setup();
  s.replace([svc('web', [entry('198.51.100.1')])]);
  const first = drain(s, clock);
  t.is(first.length, 1);
  t.like(first[0]?.write, { key: 'ns/web', kind: 'announce' });
  clock.advance(60_000);
  s.replace([svc('web', [entry('198.51.100.1', { since: new Date(T0) })])]);
  t.is(s.next(), undefined, 'nothing changed: no write, no timer');
  t.is(s.pending, 0);
});

test('changes within the interval coalesce into one write of the latest value', (t) => {
  const { clock, s } = setup();
  s.replace([svc('web', [entry('198.51.100.1')])]);
  t.is(drain(s, clock).length, 1);
  for (let epoch = 2; epoch <= 6; epoch++) {
    clock.advance(100);
    s.replace([svc('web', [entry('198.51.100.1', { epoch })])]);
  }
  const log = drain(s, clock);
  t.is(log.length, 1);
  t.is(log[0]?.at, 1_000, 'one second after the previous write');
  t.is(log[0]?.write.entries[0]?.epoch, 6);
});

test('a Service changing every 100 ms is written at most once a second', (t) => {
  const { clock, s } = setup();
  const log: Logged[] = [];
  for (let i = 0; i < 100; i++) {
    s.replace([svc('web', [entry('198.51.100.1', { epoch: i + 1 })])]);
    log.push(...drain(s, clock, clock.now()));
    clock.advance(100);
  }
  log.push(...drain(s, clock));
  t.is(log.length, 11, 'at 0, 1, …, 9 s and the last value at 10 s');
  for (let i = 1; i < log.length; i++) t.true((log[i]?.at ?? 0) - (log[i - 1]?.at ?? 0) >= 1_000);
  t.is(log.at(-1)?.write.entries[0]?.epoch, 100);
});

test('a takeover of 1,000 Services stays within the global budget (burst, then 20/s)', (t) => {
  const { clock, s } = setup();
  s.replace(Array.from({ length: 1_000 }, (_, i) => svc(`s${i}`, [entry(`198.51.${i >> 8}.${i & 255}`)])));
  const log = drain(s, clock);
  t.is(log.length, 1_000);
  t.is(log.filter((l) => l.at === 0).length, 40, 'the burst at once');
  for (let from = 0; from < 48_000; from += 1_000) {
    const n = log.filter((l) => l.at > from && l.at <= from + 1_000).length;
    t.true(n <= 20, `${n} writes in (${from}, ${from + 1_000}] ms`);
  }
  t.true((log.at(-1)?.at ?? 0) <= 48_000 + 50, 'the last about (1000 - 40) / 20 s later');
});

test('takeovers go before withdrawals, withdrawals before updates', (t) => {
  const { clock, s } = setup({ burst: 1, writesPerSecond: 1 });
  const base = Array.from({ length: 3 }, (_, i) => svc(`s${i}`, [entry(`198.51.100.${i}`)]));
  s.replace(base);
  drain(s, clock);
  clock.advance(10_000);
  // s0: update (interfaces); s1: withdrawn; s2: takeover; s3: new.
  s.replace([
    svc('s0', [entry('198.51.100.0', { interfaces: ['eth9'] })]),
    svc('s2', [entry('198.51.100.2', { epoch: 2 })]),
    svc('s3', [entry('198.51.100.3')]),
  ]);
  const order = drain(s, clock).map((l) => `${l.write.key}:${l.write.kind}`);
  t.deepEqual(order, ['ns/s2:announce', 'ns/s3:announce', 'ns/s1:withdraw', 'ns/s0:update']);
});

test('a takeover arriving behind a queue of updates is written next', (t) => {
  const { clock, s } = setup({ burst: 1, writesPerSecond: 1 });
  const many = Array.from({ length: 20 }, (_, i) => svc(`s${i}`, [entry(`198.51.100.${i}`)]));
  s.replace(many);
  drain(s, clock);
  clock.advance(10_000);
  s.replace(many.map((d) => ({ ...d, entries: d.entries.map((e) => ({ ...e, interfaces: ['eth1'] })) })));
  t.like(s.next(), { write: { kind: 'update' } });
  s.replace([
    ...many.map((d) => ({ ...d, entries: d.entries.map((e) => ({ ...e, interfaces: ['eth1'] })) })),
    svc('new', [entry('203.0.113.1')]),
  ]);
  // (the write in flight is not done yet; it does not block others)
  const next = s.next();
  t.like(next, { waitMs: 1_000 }, 'the budget is spent');
  clock.advance(1_000);
  t.like(s.next(), { write: { key: 'ns/new', kind: 'announce' } });
});

test('a withdrawal writes no entries, then the Service is forgotten; never-written Services are never withdrawn', (t) => {
  const { clock, s } = setup();
  s.replace([svc('web', [entry('198.51.100.1')]), svc('api', [])]);
  t.is(drain(s, clock).length, 1, 'api wants nothing and had nothing: no write');
  s.replace([]);
  const log = drain(s, clock);
  t.is(log.length, 1);
  t.like(log[0]?.write, { key: 'ns/web', kind: 'withdraw', entries: [] });
  clock.advance(1_000);
  s.replace([]);
  t.is(s.size, 0, 'nothing kept for Services no longer announced');
});

test('entries adopted from the cluster and no longer announced are withdrawn', (t) => {
  const { clock, s } = setup();
  s.adopt({ namespace: 'ns', name: 'old', uid: 'u' }, [entry('198.51.100.7')]);
  s.replace([]);
  const log = drain(s, clock);
  t.like(log[0]?.write, { key: 'ns/old', kind: 'withdraw' });
});

test('a failed write is retried with a doubling delay, then succeeds', (t) => {
  const { clock, s } = setup();
  s.replace([svc('web', [entry('198.51.100.1')])]);
  let fails = 3;
  const log = drain(s, clock, Infinity, () =>
    fails-- > 0 ? { result: 'failed', requests: 1 } : { result: 'written', requests: 1 },
  );
  t.deepEqual(
    log.map((l) => l.at),
    [0, 1_000, 3_000, 7_000],
  );
  t.is(s.pending, 0);
});

test('a Service found gone is not written again until it comes back under another uid', (t) => {
  const { clock, s } = setup();
  s.replace([svc('web', [entry('198.51.100.1')], 'uid-1')]);
  t.is(drain(s, clock, Infinity, () => ({ result: 'gone', requests: 0 })).length, 1);
  s.replace([svc('web', [entry('198.51.100.1', { epoch: 2 })], 'uid-1')]);
  t.is(s.next(), undefined, 'the same uid: nothing to write');
  s.replace([svc('web', [entry('198.51.100.1', { epoch: 2 })], 'uid-2')]);
  clock.advance(1_000);
  t.like(s.next(), { write: { kind: 'announce', service: { uid: 'uid-2' } } });
});

test('a change while a write is in flight is written after it, the interval later', (t) => {
  const { clock, s } = setup();
  s.replace([svc('web', [entry('198.51.100.1')])]);
  const first = s.next();
  if (first === undefined || !('write' in first)) return t.fail();
  s.replace([svc('web', [entry('198.51.100.1', { epoch: 2 })])]);
  t.is(s.next(), undefined, 'in flight: not planned twice');
  clock.advance(200);
  s.done(first.write, { result: 'written', requests: 1 });
  t.like(s.next(), { waitMs: 800 });
  const log = drain(s, clock);
  t.is(log.length, 1);
  t.is(log[0]?.write.entries[0]?.epoch, 2);
});

test('a first announcement (create + status) costs two tokens', (t) => {
  const { clock, s } = setup({ burst: 2, writesPerSecond: 1 });
  s.replace([svc('a', [entry('198.51.100.1')]), svc('b', [entry('198.51.100.2')])]);
  const log = drain(s, clock, Infinity, () => ({ result: 'written', requests: 2 }));
  t.deepEqual(
    log.map((l) => l.at),
    [0, 1_000],
    'the second waits for the token the first one’s create used',
  );
});
