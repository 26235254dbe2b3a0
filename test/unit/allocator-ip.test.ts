import test from 'ava';
import fc from 'fast-check';
import { formatIp, parseAddressEntry } from '../../src/ip/index.ts';
import {
  countBuggy,
  findOverlaps,
  isBuggyIp,
  mergeRanges,
  partitionPools,
} from '../../src/kube/allocator/index.ts';
import { pool } from './allocator-fixtures.ts';

test('countBuggy agrees with counting one by one', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 1500 }), (first, len) => {
      const last = Math.min(first + len, 2 ** 32 - 1);
      let n = 0n;
      for (let v = first; v <= last; v++) if (isBuggyIp(4, BigInt(v))) n++;
      t.is(countBuggy({ family: 4, first: BigInt(first), last: BigInt(last) }), n);
    }),
  );
  t.is(countBuggy({ family: 6, first: 0n, last: 1000n }), 0n);
});

test('mergeRanges merges overlapping and adjacent ranges per family', (t) => {
  const r = mergeRanges(
    ['192.0.2.10-192.0.2.20', '2001:db8::/127', '192.0.2.0/28', '192.0.2.21-192.0.2.22'].map(
      parseAddressEntry,
    ),
  );
  t.deepEqual(r, [
    { family: 4, first: 0xc0000200n, last: 0xc0000216n },
    { family: 6, first: 0x20010db8n << 96n, last: (0x20010db8n << 96n) + 1n },
  ]);
});

test('findOverlaps lists pairs in creation order, with the shared range', (t) => {
  const pools = [
    pool('c', ['192.0.2.8-192.0.2.40'], { creationTimestamp: 3 }),
    pool('a', ['192.0.2.0/28', '2001:db8::/64'], { creationTimestamp: 1 }),
    pool('b', ['198.51.100.0/24', '2001:db8::5-2001:db8::6'], { creationTimestamp: 2 }),
    pool('d', ['203.0.113.0/24'], { creationTimestamp: 0 }),
  ];
  t.deepEqual(
    findOverlaps(pools).map((o) => [
      o.earlier,
      o.later,
      `${formatIp(o.shared.family, o.shared.first)}-${formatIp(o.shared.family, o.shared.last)}`,
    ]),
    [
      ['a', 'b', '2001:db8::5-2001:db8::6'],
      ['a', 'c', '192.0.2.8-192.0.2.15'],
    ],
  );
});

test('partitionPools refuses the later of two overlapping pools, without cascading', (t) => {
  const pools = [
    pool('a', ['192.0.2.0/28'], { creationTimestamp: 1 }),
    pool('b', ['192.0.2.8-192.0.2.20'], { creationTimestamp: 2 }),
    pool('c', ['192.0.2.18-192.0.2.30'], { creationTimestamp: 3 }),
  ];
  const { accepted, refused } = partitionPools(pools);
  t.deepEqual(
    accepted.map((p) => p.name),
    ['a', 'c'],
  );
  t.deepEqual(
    refused.map((r) => [r.pool, r.overlapsWith]),
    [['b', 'a']],
  );
});

test('equal creation times: the lower name is the earlier pool', (t) => {
  const [o] = findOverlaps([pool('y', ['192.0.2.0/28']), pool('x', ['192.0.2.0/28'])]);
  t.like(o, { earlier: 'x', later: 'y' });
});
