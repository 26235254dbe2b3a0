import test from 'ava';
import fc from 'fast-check';
import {
  CODEC_VERSION,
  decode,
  encode,
  encodedSize,
  MAX_FRAME_BYTES,
  MAX_NAME_BYTES,
  MAX_UPDATES,
} from '../../src/mesh/codec.ts';
import { MeshCodecError } from '../../src/mesh/errors.ts';
import type { Endpoint, MemberSnapshot, Message, Update } from '../../src/mesh/messages.ts';

const name = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });
const int = fc.maxSafeNat();
const state = fc.constantFrom('alive', 'suspect', 'dead', 'left' as const);
const endpoint: fc.Arbitrary<Endpoint> = fc.record({
  peerId: fc.string({ maxLength: 60 }),
  addrs: fc.array(fc.string({ maxLength: 60 }), { maxLength: 8 }),
});
const update: fc.Arbitrary<Update> = fc.record(
  { kind: state, node: name, incarnation: int, from: name, endpoint },
  { requiredKeys: ['kind', 'node', 'incarnation', 'from'] },
);
const updates = fc.array(update, { maxLength: 10 });
const snapshot: fc.Arbitrary<MemberSnapshot> = fc.record(
  { node: name, state, incarnation: int, endpoint },
  { requiredKeys: ['node', 'state', 'incarnation'] },
);
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: int, from: name, target: name, piggyback: updates }),
  fc.record({ type: fc.constant('ack' as const), seq: int, from: name, piggyback: updates }),
  fc.record({ type: fc.constant('ping-req' as const), seq: int, from: name, target: name }),
  fc.record({ type: fc.constant('nack' as const), seq: int, from: name }),
  fc.record({ type: fc.constant('gossip' as const), from: name, updates }),
  fc.record({
    type: fc.constant('push-pull' as const),
    from: name,
    join: fc.boolean(),
    reply: fc.boolean(),
    members: fc.array(snapshot, { maxLength: 10 }),
  }),
);

/** Decoding must either give a message that re-encodes, or throw MeshCodecError. */
function decodesOrRejects(bytes: Uint8Array): boolean {
  try {
    const m = decode(bytes);
    return encodedSize(m) === encode(m).length;
  } catch (err) {
    return err instanceof MeshCodecError;
  }
}

function codeOf(bytes: Uint8Array): string | undefined {
  try {
    decode(bytes);
    return undefined;
  } catch (err) {
    return err instanceof MeshCodecError ? err.code : `not a MeshCodecError: ${String(err)}`;
  }
}

test('round trip: decode(encode(m)) equals m, and encodedSize is exact', (t) => {
  fc.assert(
    fc.property(message, (m) => {
      const bytes = encode(m);
      t.deepEqual(decode(bytes), m);
      return encodedSize(m) === bytes.length && bytes[0] === CODEC_VERSION;
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});

test('arbitrary bytes decode or raise MeshCodecError, never anything else', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrRejects), { numRuns: 5_000 });
  // Frames that at least carry the right version and a valid type reach the body parsers.
  const framed = fc
    .tuple(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 300 }))
    .map(([type, body]) => Uint8Array.of(CODEC_VERSION, type, ...body));
  fc.assert(fc.property(framed, decodesOrRejects), { numRuns: 5_000 });
  t.pass();
});

test('truncations and bit flips of valid frames decode or raise MeshCodecError', (t) => {
  fc.assert(
    fc.property(message, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), (m, cut, at, bit) => {
      const bytes = encode(m);
      const truncated = bytes.subarray(0, cut % bytes.length);
      const flipped = Uint8Array.from(bytes);
      flipped[at % bytes.length] = (flipped[at % bytes.length] ?? 0) ^ (1 << bit);
      return codeOf(truncated) !== undefined && decodesOrRejects(flipped);
    }),
    { numRuns: 3_000 },
  );
  t.pass();
});

const ping: Message = { type: 'ping', seq: 7, from: 'node-a', target: 'node-b', piggyback: [] };

test('named errors for each kind of bad frame', (t) => {
  const good = encode(ping);
  t.is(codeOf(good.subarray(0, 4)), 'truncated');
  t.is(codeOf(Uint8Array.of(9, ...good.subarray(1))), 'bad-version');
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 42)), 'unknown-type');
  t.is(codeOf(Uint8Array.of(...good, 0)), 'trailing-bytes');
  t.is(codeOf(new Uint8Array(MAX_FRAME_BYTES + 1)), 'too-large');
  // seq as an overlong varint (0x80 0x00), and one above 2^53-1.
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 4, 0x80, 0x00, 1, 0x61)), 'bad-varint');
  t.is(
    codeOf(Uint8Array.of(CODEC_VERSION, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0x61)),
    'bad-varint',
  );
  // nack from a name that is not UTF-8.
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 4, 1, 2, 0xc3, 0x28)), 'bad-utf8');
  // nack from an empty name; a name longer than the limit.
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 4, 1, 0)), 'invalid');
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 4, 1, 0xfe, 0x01)), 'limit');
  // push-pull with unknown flags; an update with an unknown state.
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 6, 1, 0x61, 4, 0)), 'invalid');
  t.is(codeOf(Uint8Array.of(CODEC_VERSION, 5, 1, 0x61, 1, 9, 1, 0x61, 0, 1, 0x61)), 'invalid');
});

test('encode enforces the same limits', (t) => {
  const long = 'x'.repeat(MAX_NAME_BYTES + 1);
  t.is(t.throws(() => encode({ ...ping, from: long }), { instanceOf: MeshCodecError }).code, 'limit');
  t.is(t.throws(() => encode({ ...ping, from: '' }), { instanceOf: MeshCodecError }).code, 'invalid');
  t.is(t.throws(() => encode({ ...ping, seq: -1 }), { instanceOf: MeshCodecError }).code, 'invalid');
  t.is(t.throws(() => encode({ ...ping, seq: 2 ** 53 }), { instanceOf: MeshCodecError }).code, 'invalid');
  const many: Update[] = Array.from({ length: MAX_UPDATES + 1 }, () => ({
    kind: 'alive',
    node: 'a',
    incarnation: 1,
    from: 'a',
  }));
  t.is(t.throws(() => encode({ ...ping, piggyback: many }), { instanceOf: MeshCodecError }).code, 'limit');
});

test('frame sizes: a ping with 8 piggybacked updates stays small', (t) => {
  const piggyback: Update[] = Array.from({ length: 8 }, (_, i) => ({
    kind: 'suspect',
    node: `worker-${i}.example.internal`,
    incarnation: 1_764_000_000 + i,
    from: 'worker-99.example.internal',
  }));
  const size = encodedSize({ ...ping, piggyback });
  t.log(`ping with 8 updates: ${size} bytes; bare ping: ${encodedSize(ping)} bytes`);
  t.true(size < 600);
});
