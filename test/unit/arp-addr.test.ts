import { isIPv4, isIPv6 } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import {
  canonicalIp,
  canonicalIPv6,
  canonicalMac,
  InvalidAddressError,
  ipToBytes,
  ipv4ToBytes,
  ipv4ToString,
  ipv6MulticastMac,
  ipv6ToBytes,
  ipv6ToString,
  isIPv6Multicast,
  isMulticastMac,
  macToBytes,
  macToString,
  solicitedNodeAddress,
  solicitedNodeMac,
} from '../../src/arp/codec/index.ts';

function accepts(parse: (s: string) => unknown, s: string): boolean | string {
  try {
    parse(s);
    return true;
  } catch (err) {
    return err instanceof InvalidAddressError ? false : `not an InvalidAddressError: ${String(err)}`;
  }
}

test('MAC text: round trip, lower case out, strict in', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
      const s = macToString(b);
      return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(s) && Buffer.from(macToBytes(s)).equals(b);
    }),
  );
  t.is(canonicalMac('02:AB:cd:00:00:0F'), '02:ab:cd:00:00:0f');
  for (const bad of [
    '02:ab:cd:00:00',
    '02-ab-cd-00-00-0f',
    '2:ab:cd:0:0:f',
    '02:ab:cd:00:00:0g',
    ' 02:ab:cd:00:00:0f',
    '',
  ])
    t.is(t.throws(() => macToBytes(bad), { instanceOf: InvalidAddressError }).input, bad);
  t.true(isMulticastMac('33:33:00:00:00:01'));
  t.true(isMulticastMac('ff:ff:ff:ff:ff:ff'));
  t.false(isMulticastMac('02:00:00:00:00:0a'));
  t.is(macToString(Uint8Array.of(9, 9, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff), 2), 'aa:bb:cc:dd:ee:ff');
  t.throws(() => macToString(new Uint8Array(5)), { instanceOf: RangeError });
});

test('IPv4 text: round trip, and accepted exactly when node:net isIPv4 accepts', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) =>
      Buffer.from(ipv4ToBytes(ipv4ToString(b))).equals(b),
    ),
  );
  const text = fc.string({
    unit: fc.constantFrom('0', '1', '2', '5', '9', '.', 'x', ' ', '-'),
    maxLength: 18,
  });
  fc.assert(
    fc.property(fc.oneof(text, fc.ipV4()), (s) => accepts(ipv4ToBytes, s) === isIPv4(s)),
    { numRuns: 5_000 },
  );
  t.deepEqual([...ipv4ToBytes('192.0.2.255')], [192, 0, 2, 255]);
  for (const bad of ['01.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.', '1.2.3.-4', '0x1.2.3.4', ''])
    t.throws(() => ipv4ToBytes(bad), { instanceOf: InvalidAddressError });
});

test('IPv6 text: RFC 5952 canonical form (the RFC examples)', (t) => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // §4.3 lower case
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 one zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 the first of equal runs
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], // §5 IPv4-mapped in mixed notation
    ['::FFFF:0102:0304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::102:304'], // deprecated IPv4-compatible: plain hex
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::ff:fe00:a', 'fe80::ff:fe00:a'],
  ];
  for (const [input, want] of cases) t.is(canonicalIPv6(input), want, input);
});

test('IPv6 text: round trip, agrees with WHATWG URL compression, and with node:net isIPv6', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(8), (b, zeros) => {
      b.fill(0, 0, zeros * 2); // many leading zero groups sometimes
      const s = ipv6ToString(b);
      if (!Buffer.from(ipv6ToBytes(s)).equals(b)) return false;
      if (s.startsWith('::ffff:') && s.includes('.')) return true; // URL prints mapped addresses in hex
      return new URL(`http://[${s}]/`).hostname === `[${s}]`;
    }),
    { numRuns: 5_000 },
  );
  // Any valid text in (fast-check's ipV6 covers the embedded IPv4 and "::" forms).
  fc.assert(
    fc.property(fc.ipV6(), (s) => canonicalIPv6(canonicalIPv6(s)) === canonicalIPv6(s)),
    { numRuns: 3_000 },
  );
  const text = fc.string({
    unit: fc.constantFrom('0', '1', 'a', 'F', 'g', ':', ':', '.', '9', '%'),
    maxLength: 30,
  });
  fc.assert(
    fc.property(
      fc.oneof(text, fc.ipV6()),
      (s) => accepts(ipv6ToBytes, s) === (isIPv6(s) && !s.includes('%')),
    ),
    { numRuns: 10_000 },
  );
  for (const bad of [
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1::2:3:4:5:6:7:8',
    '12345::',
    'fe80::1%eth0',
    '::1.2.3',
    ':1::',
  ])
    t.throws(() => ipv6ToBytes(bad), { instanceOf: InvalidAddressError }, bad);
});

test('IP family helpers', (t) => {
  t.is(ipToBytes('192.0.2.1').length, 4);
  t.is(ipToBytes('2001:db8::1').length, 16);
  t.is(canonicalIp('2001:DB8:0::1'), '2001:db8::1');
  t.is(canonicalIp('192.0.2.1'), '192.0.2.1');
  t.throws(() => canonicalIp('192.0.2'), { instanceOf: InvalidAddressError });
});

test('solicited-node addresses and multicast MACs (RFC 4291 §2.7.1, RFC 2464 §7)', (t) => {
  t.is(solicitedNodeAddress('2001:db8::2'), 'ff02::1:ff00:2');
  t.is(solicitedNodeAddress('2001:db8::abcd:ef12:3456'), 'ff02::1:ff12:3456');
  t.is(solicitedNodeMac('2001:db8::2'), '33:33:ff:00:00:02'); // the captured NS went there
  t.is(solicitedNodeMac('2001:db8::abcd:ef12:3456'), '33:33:ff:12:34:56');
  t.is(ipv6MulticastMac('ff02::1'), '33:33:00:00:00:01');
  t.is(ipv6MulticastMac('ff02::16'), '33:33:00:00:00:16');
  t.true(isIPv6Multicast('ff02::1'));
  t.false(isIPv6Multicast('2001:db8::1'));
  t.throws(() => ipv6MulticastMac('2001:db8::1'), { instanceOf: InvalidAddressError });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      const group = solicitedNodeAddress(ipv6ToString(b));
      const g = ipv6ToBytes(group);
      return (
        g.subarray(0, 13).every((v, i) => v === [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff][i]) &&
        Buffer.from(g.subarray(13)).equals(b.subarray(13)) &&
        ipv6MulticastMac(group) === solicitedNodeMac(ipv6ToString(b))
      );
    }),
  );
});
