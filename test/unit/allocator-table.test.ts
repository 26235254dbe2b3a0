// The allocation table's bookkeeping (src/kube/allocator/table.ts) and picking
// addresses from it (pick.ts), below the Allocator's surface.
import test from 'ava';
import { parseIp } from '../../src/ip/index.ts';
import { pick, poolOf } from '../../src/kube/allocator/pick.ts';
import { preparePools } from '../../src/kube/allocator/pools.ts';
import { AllocationTable, type Entry, type Held, type Profile } from '../../src/kube/allocator/table.ts';
import { pool } from './allocator-fixtures.ts';

function profile(
  sharingKey: string | null,
  ports: string[],
  trafficPolicy: 'Cluster' | 'Local' = 'Cluster',
): Profile {
  return { sharingKey, trafficPolicy, ports: new Set(ports) };
}

function add(table: AllocationTable, key: string, p: Profile): Entry {
  const entry: Entry = { key, uid: key, created: 0, profile: profile(null, []), ips: [] };
  table.add(entry);
  table.setProfile(entry, p);
  return entry;
}

function held(text: string): Held {
  const p = parseIp(text);
  if (p === undefined) throw new Error(text);
  return { ip: text, family: p.family, value: p.value };
}

test('conflictWith: compatible sharers share, overlapping ports under one key or another key conflict', (t) => {
  const table = new AllocationTable();
  const a = add(table, 'ns/a', profile('ns/k', ['TCP/80']));
  table.hold(a, held('192.0.2.1'));
  t.is(table.conflictWith('192.0.2.1', 'ns/b', profile('ns/k', ['TCP/443'])), undefined);
  t.is(table.conflictWith('192.0.2.1', 'ns/b', profile('ns/k', ['TCP/80']))?.reason, 'IncompatibleSharing');
  t.is(
    table.conflictWith('192.0.2.1', 'ns/b', profile('ns/k', ['TCP/443'], 'Local'))?.reason,
    'IncompatibleSharing',
  );
  t.is(table.conflictWith('192.0.2.1', 'ns/b', profile('ns/other', ['TCP/443']))?.reason, 'RequestedIPInUse');
  t.is(table.conflictWith('192.0.2.1', 'ns/b', profile(null, ['TCP/443']))?.reason, 'RequestedIPInUse');
  // A holder never conflicts with itself.
  t.is(table.conflictWith('192.0.2.1', 'ns/a', profile(null, ['TCP/80'])), undefined);
});

test('pick takes the lowest free address, and sees one freed below its hint', (t) => {
  const table = new AllocationTable();
  const [p] = preparePools([pool('p', ['192.0.2.0/30'])]);
  if (p === undefined) throw new Error('no pool');
  const a = add(table, 'ns/a', profile(null, ['TCP/80']));
  for (const ip of ['192.0.2.0', '192.0.2.1', '192.0.2.2']) {
    const got = pick(table, p, 4, a);
    t.is(got?.ip, ip);
    if (got !== undefined) table.hold(a, got);
  }
  t.deepEqual(table.unhold(a, '192.0.2.1'), ['192.0.2.1']);
  t.false(table.isHeld('192.0.2.1'));
  t.is(pick(table, p, 4, a)?.ip, '192.0.2.1');
  t.is(poolOf([p], held('192.0.2.3')), 'p');
  t.is(poolOf([p], held('192.0.2.4')), null);
});

test('pick prefers an address it can share to a free one; drop takes the entry out of sharing', (t) => {
  const table = new AllocationTable();
  const [p] = preparePools([pool('p', ['192.0.2.0/24'])]);
  if (p === undefined) throw new Error('no pool');
  const a = add(table, 'ns/a', profile('ns/k', ['TCP/80']));
  table.hold(a, held('192.0.2.9'));
  const b = add(table, 'ns/b', profile('ns/k', ['TCP/443']));
  t.is(pick(table, p, 4, b)?.ip, '192.0.2.9');
  t.deepEqual([...table.sharers('ns/k')].sort(), ['ns/a', 'ns/b']);
  table.unhold(a, '192.0.2.9');
  table.drop('ns/a');
  t.is(table.entry('ns/a'), undefined);
  t.deepEqual([...table.sharers('ns/k')], ['ns/b']);
  t.is(pick(table, p, 4, b)?.ip, '192.0.2.0');
});
