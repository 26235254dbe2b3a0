import { isIPv4, isIPv6 } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import {
  canonicalIp,
  countBuggy,
  findOverlaps,
  formatIp,
  InvalidAddressRangeError,
  isBuggyIp,
  mergeRanges,
  parseAddressRange,
  parseIp,
  partitionPools,
} from '../../src/kube/allocator/index.ts';
import { pool } from './allocator-fixtures.ts';

const ipTable: [string, string | undefined][] = [
  ['192.0.2.1', '192.0.2.1'],
  [' 10.0.0.255 ', '10.0.0.255'],
  ['0.0.0.0', '0.0.0.0'],
  ['256.0.0.1', undefined],
  ['10.0.0', undefined],
  ['010.0.0.1', undefined],
  ['1.2.3.4.5', undefined],
  ['2001:DB8::1', '2001:db8::1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ['::', '::'],
  ['::1', '::1'],
  ['fe80::', 'fe80::'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['1:2:3:4:5:6:7::8', undefined],
  ['1::2::3', undefined],
  ['12345::', undefined],
  ['fe80::1%eth0', undefined],
  ['::ffff:192.0.2.1', undefined],
  ['', undefined],
];

for (const [input, expected] of ipTable) {
  test(`canonicalIp(${JSON.stringify(input)})`, (t) => {
    t.is(canonicalIp(input), expected);
  });
}

test('IPv6 text is RFC 5952 (as the WHATWG URL serializer writes it) and parses back', (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), (v) => {
      const text = formatIp(6, v);
      t.true(isIPv6(text));
      t.is(new URL(`http://[${text}]/`).hostname, `[${text}]`);
      t.deepEqual(parseIp(text), { family: 6, value: v });
    }),
  );
});

test('IPv4 text parses back', (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), (v) => {
      const text = formatIp(4, v);
      t.true(isIPv4(text));
      t.deepEqual(parseIp(text), { family: 4, value: v });
    }),
  );
});

const rangeTable: [string, string][] = [
  ['192.0.2.0/24', '192.0.2.0-192.0.2.255'],
  ['192.0.2.7/24', '192.0.2.0-192.0.2.255'], // host bits masked, as MetalLB
  ['192.0.2.1/32', '192.0.2.1-192.0.2.1'],
  ['0.0.0.0/0', '0.0.0.0-255.255.255.255'],
  ['192.0.2.10-192.0.2.20', '192.0.2.10-192.0.2.20'],
  ['192.0.2.10 - 192.0.2.10', '192.0.2.10-192.0.2.10'],
  ['2001:db8::/120', '2001:db8::-2001:db8::ff'],
  ['2001:db8::1-2001:db8::2', '2001:db8::1-2001:db8::2'],
];
for (const [input, expected] of rangeTable) {
  test(`parseAddressRange(${input})`, (t) => {
    const r = parseAddressRange(input);
    t.is(`${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`, expected);
  });
}

for (const bad of [
  '192.0.2.0',
  '192.0.2.0/33',
  '192.0.2.0/024',
  '2001:db8::/129',
  '192.0.2.9-192.0.2.1',
  '192.0.2.1-2001:db8::1',
  'x/8',
  'a-b',
]) {
  test(`parseAddressRange rejects ${JSON.stringify(bad)}`, (t) => {
    const err = t.throws(() => parseAddressRange(bad));
    t.true(err instanceof InvalidAddressRangeError);
    t.is(err.name, 'InvalidAddressRangeError');
  });
}

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
      parseAddressRange,
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
