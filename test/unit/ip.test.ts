// src/ip: address text <-> integers and pool entries (the codec's byte-level names are
// tested in arp-addr.test.ts, the API's strict entry grammar in kube-api-addresses.test.ts).
import { isIPv4, isIPv6 } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import {
  formatIp,
  InvalidAddressError,
  ipv6ToString,
  isV4Mapped,
  parseAddressEntry,
  parseIp,
} from '../../src/ip/index.ts';

const ipTable: [string, string | undefined][] = [
  ['192.0.2.1', '192.0.2.1'],
  [' 10.0.0.255 ', undefined], // white space is the caller's to trim
  ['10.0.0.255', '10.0.0.255'],
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
  test(`parseIp(${JSON.stringify(input)}), formatted`, (t) => {
    const ip = parseIp(input);
    t.is(ip === undefined ? undefined : formatIp(ip.family, ip.value), expected);
  });
}

test('IPv6 text is RFC 5952 (as the WHATWG URL serializer writes it) and parses back', (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), (v) => {
      if (isV4Mapped({ family: 6, value: v })) return; // mixed notation; parseIp refuses them
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
  ['192.0.2.1/32', '192.0.2.1-192.0.2.1'],
  ['0.0.0.0/0', '0.0.0.0-255.255.255.255'],
  ['192.0.2.10-192.0.2.20', '192.0.2.10-192.0.2.20'],
  ['2001:db8::/120', '2001:db8::-2001:db8::ff'],
  ['2001:db8::1-2001:db8::2', '2001:db8::1-2001:db8::2'],
];
for (const [input, expected] of rangeTable) {
  test(`parseAddressEntry(${input})`, (t) => {
    const r = parseAddressEntry(input);
    t.is(`${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`, expected);
  });
}

for (const bad of [
  '192.0.2.0',
  '192.0.2.7/24', // host bits set: refused, as the CRD's CEL rule does (MetalLB masks them)
  '192.0.2.10 - 192.0.2.10',
  ' 192.0.2.0/24',
  '192.0.2.0/33',
  '192.0.2.0/024',
  '2001:db8::/129',
  '192.0.2.9-192.0.2.1',
  '192.0.2.1-2001:db8::1',
  'x/8',
  'a-b',
]) {
  test(`parseAddressEntry rejects ${JSON.stringify(bad)}`, (t) => {
    const err = t.throws(() => parseAddressEntry(bad));
    t.true(err instanceof InvalidAddressError);
    t.is(err.name, 'InvalidAddressError');
    t.is((err as InvalidAddressError).input, bad);
  });
}

test('ipv6ToString: zero runs, single zeros, all zeros', (t) => {
  const f = (hex: string): string => ipv6ToString(new Uint8Array(Buffer.from(hex, 'hex')));
  t.is(f('00000000000000000000000000000000'), '::');
  t.is(f('00000000000000000000000000000001'), '::1');
  t.is(f('fe800000000000000000000000000000'), 'fe80::');
  t.is(f('20010db8000000000001000000000001'), '2001:db8::1:0:0:1'); // the first of two equal runs
  t.is(f('20010db8000000010001000100010001'), '2001:db8:0:1:1:1:1:1'); // one zero group stays
  t.is(f('20010db80000000000000000abcd0000'), '2001:db8::abcd:0');
  t.is(f('00000000000000000000ffffc0000201'), '::ffff:192.0.2.1'); // IPv4-mapped: mixed notation
});

test('ipv6ToString writes what the WHATWG URL parser writes (RFC 5952 compression)', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
        // Many zero groups, so that runs are common.
        for (let i = 0; i < 16; i += 2) if ((b[i] ?? 0) < 128) b[i] = b[i + 1] = 0;
        return b;
      }),
      (b) => {
        const s = ipv6ToString(b);
        if (s.startsWith('::ffff:') && s.includes('.')) return; // URL prints mapped addresses in hex
        t.is(new URL(`http://[${s}]/`).hostname, `[${s}]`);
        t.is(Buffer.from(expandIpv6(s).replaceAll(':', ''), 'hex').compare(b), 0);
      },
    ),
  );
});

function expandIpv6(s: string): string {
  const [head = '', tail] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
