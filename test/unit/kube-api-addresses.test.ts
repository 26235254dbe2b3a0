import test from 'ava';
import fc from 'fast-check';
import {
  formatIp,
  InvalidAddressError,
  parseAddressEntry,
  parseIp,
  rangeSize,
  type Family,
} from '../../src/kube/api/index.ts';

const V4_MAPPED = 0xffffn << 32n;
const isV4Mapped = (v: bigint): boolean => v >> 32n === V4_MAPPED >> 32n;

const family = fc.constantFrom<Family>(4, 6);
const address = family.chain((f) =>
  fc
    .bigInt({ min: 0n, max: (1n << (f === 4 ? 32n : 128n)) - 1n })
    .filter((v) => f === 4 || !isV4Mapped(v))
    .map((value) => ({ family: f, value })),
);
/** Addresses with long zero runs, where "::" placement matters. */
const sparse6 = fc
  .array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xdb8), { minLength: 8, maxLength: 8 })
  .map((gs) => gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n))
  .filter((v) => !isV4Mapped(v));

function expectInvalid(entry: string): InvalidAddressError {
  try {
    parseAddressEntry(entry);
  } catch (e) {
    if (e instanceof InvalidAddressError) return e;
    throw e;
  }
  throw new Error(`${entry} parsed`);
}

test('formatIp and parseIp round-trip every address', (t) => {
  fc.assert(
    fc.property(address, ({ family: f, value }) => {
      const parsed = parseIp(formatIp(f, value));
      return parsed?.family === f && parsed.value === value;
    }),
  );
  fc.assert(fc.property(sparse6, (v) => parseIp(formatIp(6, v))?.value === v));
  t.is(formatIp(6, 0n), '::');
  t.is(formatIp(6, 1n), '::1');
  t.is(formatIp(6, 0x20010db8000000000001000000000001n), '2001:db8::1:0:0:1'); // first of two equal runs
  t.is(formatIp(6, 0xfd000000000000000000000000000000n), 'fd00::');
  t.is(formatIp(6, 0x00010002000300040005000600070008n), '1:2:3:4:5:6:7:8');
  t.is(formatIp(6, 0x00010000000200030004000500060007n), '1:0:2:3:4:5:6:7'); // a single zero group stays
  t.is(formatIp(4, 0xc6336400n), '198.51.100.0');
});

test('non-canonical IPv6 spellings parse to the same address', (t) => {
  fc.assert(
    fc.property(sparse6, fc.boolean(), (v, upper) => {
      const full = Array.from({ length: 8 }, (_, i) =>
        ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16).padStart(4, '0'),
      ).join(':');
      return parseIp(upper ? full.toUpperCase() : full)?.value === v;
    }),
  );
  t.is(parseIp('::1.2.3.4')?.value, 0x01020304n);
  t.is(parseIp('64:ff9b::192.0.2.1')?.value, 0x0064ff9b0000000000000000c0000201n);
});

test('a CIDR covers exactly its network; bits after the prefix are refused', (t) => {
  fc.assert(
    fc.property(address, fc.nat(128), ({ family: f, value }, n) => {
      const width = f === 4 ? 32 : 128;
      const bits = n % (width + 1);
      const hostMask = (1n << BigInt(width - bits)) - 1n;
      const network = value & ~hostMask;
      if (f === 6 && isV4Mapped(network)) return true;
      const r = parseAddressEntry(`${formatIp(f, network)}/${bits}`);
      if (r.family !== f || r.first !== network || r.last !== (network | hostMask)) return false;
      if (rangeSize(r) !== hostMask + 1n) return false;
      if ((value & hostMask) === 0n) return true;
      return expectInvalid(`${formatIp(f, value)}/${bits}`).reason.includes('after the prefix length');
    }),
  );
  t.is(expectInvalid('198.51.100.7/24').name, 'InvalidAddressError');
  t.regex(expectInvalid('198.51.100.7/24').message, /did you mean 198\.51\.100\.0\/24\?/);
});

test('a range parses when in order and of one family, and is refused otherwise', (t) => {
  fc.assert(
    fc.property(address, address, (a, b) => {
      const entry = `${formatIp(a.family, a.value)}-${formatIp(b.family, b.value)}`;
      if (a.family !== b.family) return expectInvalid(entry).reason.includes('different families');
      if (a.value > b.value) return expectInvalid(entry).reason.includes('above the last');
      const r = parseAddressEntry(entry);
      return r.first === a.value && r.last === b.value && rangeSize(r) === b.value - a.value + 1n;
    }),
  );
  t.deepEqual(parseAddressEntry('198.51.100.10-198.51.100.20'), {
    family: 4,
    first: 0xc633640an,
    last: 0xc6336414n,
  });
});

test('arbitrary text either parses or throws InvalidAddressError, nothing else', (t) => {
  const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:./-% x'.split(''));
  fc.assert(
    fc.property(fc.string({ unit: alphabet, maxLength: 50 }), (s) => {
      try {
        const r = parseAddressEntry(s);
        return r.first <= r.last;
      } catch (e) {
        return e instanceof InvalidAddressError && e.input === s;
      }
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('the grammar of Go netip, as the API server uses it', (t) => {
  for (const bad of [
    '1.2.3.04',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '::ffff:1.2.3.4',
    '::ffff:102:304',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8::',
    '1::2::3',
    ':1::',
    '12345::',
    '1:2:3:4:5:6:7',
    '1.2.3.4::',
    '::1.2.3',
    '',
  ]) {
    t.is(parseIp(bad), undefined, bad);
  }
  for (const good of ['::', '::1', '1::', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '0.0.0.0', 'ABCD::ef']) {
    t.not(parseIp(good), undefined, good);
  }
});
