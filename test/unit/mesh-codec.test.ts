import test from 'ava';
import fc from 'fast-check';
import {
  CODEC_VERSION,
  decode,
  decodeFrame,
  encode,
  encodedSize,
  MAX_CLAIMS,
  MAX_FRAME_BYTES,
  MAX_GOSSIP_CLAIMS,
  MAX_IP_BYTES,
  MAX_MEMBERS,
  MAX_NAME_BYTES,
  MAX_UPDATES,
} from '../../src/mesh/codec.ts';
import { MeshCodecError } from '../../src/mesh/errors.ts';
import type {
  Endpoint,
  MemberSnapshot,
  MeshClaim,
  Message,
  PushPull,
  Update,
} from '../../src/mesh/messages.ts';

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
const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;
const ip = fc
  .oneof(fc.ipV4(), fc.ipV6(), fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }))
  .filter((s) => utf8Bytes(s) <= MAX_IP_BYTES);
const claim: fc.Arbitrary<MeshClaim> = fc.record({ ip, node: name, epoch: int });
const claims = fc.array(claim, { maxLength: 10 });
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
    claims,
  }),
  fc.record({ type: fc.constant('claims' as const), from: name, claims }),
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

const ping: Message = { type: 'ping', seq: 7, from: 'node-a', target: 'node-b', piggyback: [] };

/** What a message decodes to in version 2: a push-pull also says what its sender reads. */
const asV2 = (m: Message): Message => (m.type === 'push-pull' ? { ...m, protocol: CODEC_VERSION } : m);

test('round trip in both versions: decode(encode(m, v)) equals m, and encodedSize is exact', (t) => {
  fc.assert(
    fc.property(message, fc.constantFrom(1 as const, 2 as const), (m, v) => {
      const bytes = encode(m, v);
      const { msg, version } = decodeFrame(bytes);
      t.deepEqual(msg, v === 1 ? m : asV2(m));
      return encodedSize(m, v) === bytes.length && bytes[0] === v && version === v;
    }),
    { numRuns: 2_000 },
  );
  t.is(encode(ping)[0], CODEC_VERSION, 'version 2 by default');
});

/** Version 2 bytes of one extension (tag, length, value). */
const ext = (tag: number, value: readonly number[]): number[] => [tag, value.length, ...value];

test('forward compatibility: a version 2 frame with fields this release does not know decodes as without them', (t) => {
  // A later release's frame: unknown extensions at the end of the message.
  const extension = fc
    .tuple(fc.integer({ min: 2, max: 127 }), fc.uint8Array({ maxLength: 20 }))
    .map(([tag, v]) => ext(tag, [...v]));
  fc.assert(
    fc.property(message, fc.array(extension, { maxLength: 3 }), (m, exts) => {
      const bytes = Uint8Array.of(...encode(m), ...exts.flat());
      t.deepEqual(decode(bytes), asV2(m));
      return true;
    }),
    { numRuns: 1_000 },
  );
  // An unknown field inside a record: a claim whose record is longer than its known fields.
  const claimRecord = [3, 0x31, 0x2e, 0x32, 1, 0x61, 1]; // ip '1.2', node 'a', epoch 1
  const withField = [...claimRecord, ...ext(9, [1, 2, 3])];
  t.deepEqual(decode(Uint8Array.of(2, 7, 1, 0x61, 1, withField.length, ...withField)), {
    type: 'claims',
    from: 'a',
    claims: [{ ip: '1.2', node: 'a', epoch: 1 }],
  });
  // The protocol extension: taken from a push-pull, whatever follows it.
  const pp = encode({ type: 'push-pull', from: 'a', join: true, reply: false, members: [], claims: [] });
  t.deepEqual(decode(Uint8Array.of(...pp.subarray(0, pp.length - 3), ...ext(1, [7]), ...ext(99, [0]))), {
    type: 'push-pull',
    from: 'a',
    join: true,
    reply: false,
    members: [],
    claims: [],
    protocol: 7,
  });
});

test('version 2: malformed lengths and extensions raise named errors', (t) => {
  const claimRecord = [3, 0x31, 0x2e, 0x32, 1, 0x61, 1];
  const claimsFrame = (record: number[], length = record.length): Uint8Array =>
    Uint8Array.of(2, 7, 1, 0x61, 1, length, ...record);
  t.is(
    codeOf(claimsFrame(claimRecord, claimRecord.length + 5)),
    'truncated',
    'a record longer than the frame',
  );
  t.is(codeOf(claimsFrame(claimRecord, claimRecord.length - 1)), 'truncated', 'fields past the record');
  t.is(codeOf(claimsFrame([...claimRecord, 9])), 'truncated', 'an extension cut short');
  t.is(codeOf(Uint8Array.of(...encode(ping), 5, 4, 1)), 'truncated', 'an extension longer than the frame');
  const pp = encode({ type: 'push-pull', from: 'a', join: true, reply: false, members: [], claims: [] });
  t.is(
    codeOf(Uint8Array.of(...pp.subarray(0, pp.length - 3), ...ext(1, [2, 0]))),
    'invalid',
    'protocol with a byte too many',
  );
  t.is(codeOf(Uint8Array.of(3, 1)), 'bad-version', 'a version this release does not read');
});

test('arbitrary bytes decode or raise MeshCodecError, never anything else', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrRejects), { numRuns: 5_000 });
  // Frames that at least carry the right version and a valid type reach the body parsers.
  const framed = fc
    .tuple(fc.constantFrom(1, 2), fc.integer({ min: 1, max: 7 }), fc.uint8Array({ maxLength: 300 }))
    .map(([version, type, body]) => Uint8Array.of(version, type, ...body));
  fc.assert(fc.property(framed, decodesOrRejects), { numRuns: 5_000 });
  t.pass();
});

test('garbage in the claims of a valid push-pull or claims frame decodes or raises MeshCodecError', (t) => {
  // A valid head (sender, flags, members / sender) whose claim list is replaced by random
  // bytes (version 1, where the claim count is the last byte of an empty list).
  const head = fc.oneof(
    fc
      .record({
        from: name,
        join: fc.boolean(),
        reply: fc.boolean(),
        members: fc.array(snapshot, { maxLength: 3 }),
      })
      .map((m) => encode({ type: 'push-pull', ...m, claims: [] }, 1)),
    name.map((from) => encode({ type: 'claims', from, claims: [] }, 1)),
  );
  const tail = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    // A plausible count, then random claim bytes.
    fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 200 }))
      .map(([n, b]) => Uint8Array.of(n, ...b)),
  );
  fc.assert(
    fc.property(head, tail, (h, b) => decodesOrRejects(Uint8Array.of(...h.subarray(0, h.length - 1), ...b))),
    { numRuns: 5_000 },
  );
  t.pass();
});

test('truncations and bit flips of valid frames decode or raise MeshCodecError', (t) => {
  fc.assert(
    fc.property(
      message,
      fc.constantFrom(1 as const, 2 as const),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      (m, v, cut, at, bit) => {
        const bytes = encode(m, v);
        const truncated = bytes.subarray(0, cut % bytes.length);
        const flipped = Uint8Array.from(bytes);
        flipped[at % bytes.length] = (flipped[at % bytes.length] ?? 0) ^ (1 << bit);
        // Version 1 frames have no optional part: every truncation is an error. A
        // version 2 frame cut at the start of its extensions is a whole frame
        // without them (frames travel length-prefixed, tagged or signed: nothing
        // cuts one in transit unnoticed).
        const cutOk = v === 1 ? codeOf(truncated) !== undefined : decodesOrRejects(truncated);
        return cutOk && decodesOrRejects(flipped);
      },
    ),
    { numRuns: 3_000 },
  );
  t.pass();
});

/** Version 1: what speakers before format 2 send; its layouts are written out byte by byte below. */
const V1 = 1;

test('named errors for each kind of bad frame (version 1 layouts)', (t) => {
  const good = encode(ping, 1);
  t.is(codeOf(good.subarray(0, 4)), 'truncated');
  t.is(codeOf(Uint8Array.of(9, ...good.subarray(1))), 'bad-version');
  t.is(codeOf(Uint8Array.of(V1, 42)), 'unknown-type');
  t.is(codeOf(Uint8Array.of(...good, 0)), 'trailing-bytes');
  t.is(codeOf(new Uint8Array(MAX_FRAME_BYTES + 1)), 'too-large');
  // seq as an overlong varint (0x80 0x00), and one above 2^53-1.
  t.is(codeOf(Uint8Array.of(V1, 4, 0x80, 0x00, 1, 0x61)), 'bad-varint');
  t.is(codeOf(Uint8Array.of(V1, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0x61)), 'bad-varint');
  // nack from a name that is not UTF-8.
  t.is(codeOf(Uint8Array.of(V1, 4, 1, 2, 0xc3, 0x28)), 'bad-utf8');
  // nack from an empty name; a name longer than the limit.
  t.is(codeOf(Uint8Array.of(V1, 4, 1, 0)), 'invalid');
  t.is(codeOf(Uint8Array.of(V1, 4, 1, 0xfe, 0x01)), 'limit');
  // push-pull with unknown flags; an update with an unknown state.
  t.is(codeOf(Uint8Array.of(V1, 6, 1, 0x61, 4, 0)), 'invalid');
  t.is(codeOf(Uint8Array.of(V1, 5, 1, 0x61, 1, 9, 1, 0x61, 0, 1, 0x61)), 'invalid');
});

test('named errors for bad claims (version 1 layouts)', (t) => {
  const bare = encode({ type: 'claims', from: 'a', claims: [] }, 1);
  t.deepEqual([...bare], [V1, 7, 1, 0x61, 0]);
  // One claim: ip, node 'a', epoch 1.
  const withIp = (...ipBytes: number[]): Uint8Array =>
    Uint8Array.of(V1, 7, 1, 0x61, 1, ...ipBytes, 1, 0x61, 1);
  t.deepEqual(decode(withIp(3, 0x31, 0x2e, 0x32)), {
    type: 'claims',
    from: 'a',
    claims: [{ ip: '1.2', node: 'a', epoch: 1 }],
  });
  t.is(codeOf(withIp(0)), 'invalid');
  t.is(codeOf(withIp(MAX_IP_BYTES + 1, ...new Array<number>(MAX_IP_BYTES + 1).fill(0x31))), 'limit');
  t.is(codeOf(withIp(2, 0xc3, 0x28)), 'bad-utf8');
  // Claim counts above the limits (varints 257 and 20,001).
  t.is(codeOf(Uint8Array.of(V1, 7, 1, 0x61, 0x81, 0x02)), 'limit');
  t.is(codeOf(Uint8Array.of(V1, 6, 1, 0x61, 0, 0, 0xa1, 0x9c, 0x01)), 'limit');
  // A push-pull that stops before its claim count (as an older speaker sent them).
  t.is(codeOf(Uint8Array.of(V1, 6, 1, 0x61, 0, 0)), 'truncated');
});

test('encode enforces the claim limits', (t) => {
  const c: MeshClaim = { ip: '10.0.0.1', node: 'a', epoch: 1 };
  const claimsOf = (cs: MeshClaim[]): Message => ({ type: 'claims', from: 'a', claims: cs });
  const code = (m: Message): string => t.throws(() => encode(m), { instanceOf: MeshCodecError }).code;
  t.is(code(claimsOf([{ ...c, ip: '' }])), 'invalid');
  t.is(code(claimsOf([{ ...c, ip: '1'.repeat(MAX_IP_BYTES + 1) }])), 'limit');
  t.is(code(claimsOf([{ ...c, node: '' }])), 'invalid');
  t.is(code(claimsOf([{ ...c, epoch: -1 }])), 'invalid');
  t.is(code(claimsOf([{ ...c, epoch: 1.5 }])), 'invalid');
  t.is(code(claimsOf(new Array<MeshClaim>(MAX_GOSSIP_CLAIMS + 1).fill(c))), 'limit');
  t.notThrows(() => encode(claimsOf(new Array<MeshClaim>(MAX_GOSSIP_CLAIMS).fill(c))));
  const pp: PushPull = { type: 'push-pull', from: 'a', join: false, reply: false, members: [], claims: [] };
  t.is(code({ ...pp, claims: new Array<MeshClaim>(MAX_CLAIMS + 1).fill(c) }), 'limit');
  t.notThrows(() => encode({ ...pp, claims: new Array<MeshClaim>(MAX_CLAIMS).fill(c) }));
});

test('frame sizes: a push-pull of MAX_MEMBERS members and MAX_CLAIMS claims fits in a frame', (t) => {
  // Realistic lengths: 40-character node names, Ed25519 peer IDs, two TCP
  // addresses and a UDP one per member, IPv6 claims in full text form.
  const node = (i: number): string => `worker-${String(i).padStart(5, '0')}.rack-42.example.internal`;
  const members: MemberSnapshot[] = Array.from({ length: MAX_MEMBERS }, (_, i) => ({
    node: node(i),
    state: 'alive',
    incarnation: 1_764_000_000 + i,
    endpoint: {
      peerId: `12D3KooW${'x'.repeat(44)}`,
      addrs: [
        '/ip4/10.20.30.40/tcp/7946',
        '/ip6/fd00:1234:5678:9abc::1234/tcp/7946',
        '/ip4/10.20.30.40/udp/7947',
      ],
    },
  }));
  const claims: MeshClaim[] = Array.from({ length: MAX_CLAIMS }, (_, i) => ({
    ip: `fd00:1234:5678:9abc:def0:1234:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`,
    node: node(i % MAX_MEMBERS),
    epoch: 1_000 + i,
  }));
  const size = encodedSize({ type: 'push-pull', from: node(0), join: false, reply: true, members, claims });
  t.log(
    `full push-pull: ${(size / 1e6).toFixed(2)} MB; the frame limit is ${(MAX_FRAME_BYTES / 1e6).toFixed(2)} MB`,
  );
  t.true(size < MAX_FRAME_BYTES);
  const gossip = encodedSize({ type: 'claims', from: node(0), claims: claims.slice(0, MAX_GOSSIP_CLAIMS) });
  t.log(`claims message of ${MAX_GOSSIP_CLAIMS} claims: ${gossip} bytes`);
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
