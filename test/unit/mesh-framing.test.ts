import test from 'ava';
import fc from 'fast-check';
import { MAX_FRAME_BYTES } from '../../src/mesh/codec.ts';
import { MeshCodecError } from '../../src/mesh/errors.ts';
import { FrameReader, lengthPrefixed } from '../../src/mesh/libp2p/framing.ts';

test('frames survive any chunking of the byte stream', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
      (frames, cuts) => {
        const stream = Uint8Array.from(frames.flatMap((f) => [...lengthPrefixed(f)]));
        const reader = new FrameReader();
        const out: Uint8Array[] = [];
        let pos = 0;
        for (let i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length] as number;
          out.push(...reader.push(stream.subarray(pos, pos + n)));
          pos += n;
        }
        t.deepEqual(out, frames);
        return reader.buffered === 0;
      },
    ),
    { numRuns: 500 },
  );
});

test('arbitrary bytes yield frames or a MeshCodecError, nothing else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        new FrameReader().push(bytes);
        return true;
      } catch (err) {
        return err instanceof MeshCodecError;
      }
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});

test('an announced length above the frame limit is refused before buffering it', (t) => {
  const reader = new FrameReader();
  const big = MAX_FRAME_BYTES + 1;
  const prefix: number[] = [];
  for (let n = big; ; n = Math.floor(n / 0x80)) {
    if (n < 0x80) {
      prefix.push(n);
      break;
    }
    prefix.push((n & 0x7f) | 0x80);
  }
  t.is(
    t.throws(() => reader.push(Uint8Array.from(prefix)), { instanceOf: MeshCodecError }).code,
    'too-large',
  );
  // A length prefix that never ends (five bytes and more) is refused too.
  t.is(
    t.throws(() => new FrameReader().push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01)), {
      instanceOf: MeshCodecError,
    }).code,
    'too-large',
  );
});
