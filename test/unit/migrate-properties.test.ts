import test from 'ava';
import fc from 'fast-check';
import { formatIp, parseAddressEntry, type AddressRange } from '../../src/ip/index.ts';
import { coalesce, migrate, type WrittenIPPool } from '../../src/migrate/index.ts';

// ---- generators: entries as MetalLB accepts them (host bits, spaces around "-") ----

/** A base per family, in a small space so that entries are often adjacent or equal. */
const BASE = { 4: 0xc6336400n, 6: 0xfd000000000000000000000000000000n } as const; // 198.51.100.0, fd00::

/** A CIDR in MetalLB's spelling: any address inside it, so host bits are often set. */
const cidrArb = (family: 4 | 6): fc.Arbitrary<{ text: string; range: AddressRange }> =>
  fc
    .record({
      block: fc.integer({ min: 0, max: 40 }),
      size: fc.integer({ min: 0, max: 6 }),
      host: fc.bigInt(0n, 63n),
    })
    .map(({ block, size, host }) => {
      const width = family === 4 ? 32 : 128;
      const span = 1n << BigInt(size);
      const first = BASE[family] + BigInt(block) * 64n;
      const network = first - (first % span);
      const any = network + (host % span);
      return {
        text: `${formatIp(family, any)}/${String(width - size)}`,
        range: { family, first: network, last: network + span - 1n },
      };
    });

/** A range `a-b` with optional spaces around the `-`. */
const rangeArb = (family: 4 | 6): fc.Arbitrary<{ text: string; range: AddressRange }> =>
  fc
    .record({
      a: fc.bigInt(0n, 2600n),
      len: fc.bigInt(0n, 90n),
      sep: fc.constantFrom('-', ' - ', '- ', ' -'),
    })
    .map(({ a, len, sep }) => {
      const first = BASE[family] + a;
      const last = first + len;
      return {
        text: `${formatIp(family, first)}${sep}${formatIp(family, last)}`,
        range: { family, first, last },
      };
    });

const entryArb = fc.oneof(cidrArb(4), cidrArb(6), rangeArb(4), rangeArb(6));

/** The address set as sorted disjoint intervals, comparable with deepEqual. */
const canonicalSet = (ranges: readonly AddressRange[]): string[] =>
  coalesce(ranges).map((r) => `${String(r.family)}:${r.first.toString()}-${r.last.toString()}`);

test('a valid MetalLB pool converts to a meshlb pool covering exactly the same addresses', (t) => {
  fc.assert(
    fc.property(fc.array(entryArb, { minLength: 1, maxLength: 48 }), (entries) => {
      const result = migrate([
        {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'IPAddressPool',
          metadata: { name: 'p', namespace: 'metallb-system' },
          spec: { addresses: entries.map((e) => e.text) },
        },
      ]);
      const pool = result.objects[0] as WrittenIPPool | undefined;
      if (pool === undefined) {
        // Only one reason to refuse a valid MetalLB pool: too many entries even after merging.
        const errors = result.findings.filter((f) => f.severity === 'error').map((f) => f.message);
        return (
          errors.length === 1 &&
          /meshlb takes at most 32 per pool/.test(errors[0] ?? '') &&
          entries.length > 32
        );
      }
      // Every written entry is one the API server accepts (parseAddressEntry has its grammar) …
      const written = pool.spec.addresses.map((a) => parseAddressEntry(a));
      // … with no duplicates and at most 32 of them …
      if (new Set(pool.spec.addresses).size !== pool.spec.addresses.length) return false;
      if (pool.spec.addresses.length > 32) return false;
      // … and covering the same set of addresses.
      t.deepEqual(canonicalSet(written), canonicalSet(entries.map((e) => e.range)));
      return true;
    }),
    { numRuns: 500 },
  );
});

test('up to 32 valid entries always convert, in their order', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(cidrArb(4), { minLength: 1, maxLength: 32, selector: (e) => e.text }),
      (entries) => {
        const result = migrate([
          {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'IPAddressPool',
            metadata: { name: 'p' },
            spec: { addresses: entries.map((e) => e.text) },
          },
        ]);
        const pool = result.objects[0] as WrittenIPPool | undefined;
        if (pool === undefined || result.failed) return false;
        // Entries equal after masking are written once; order of first appearance kept.
        const expected = [
          ...new Set(entries.map((e) => `${formatIp(4, e.range.first)}/${e.text.split('/')[1] ?? ''}`)),
        ];
        t.deepEqual(pool.spec.addresses, expected);
        return true;
      },
    ),
    { numRuns: 300 },
  );
});
