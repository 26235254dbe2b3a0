import { MeshCodecError } from '../errors.ts';
import { MAX_FRAME_BYTES } from '../codec.ts';

/** Prefixes a frame with its length (unsigned LEB128), for a byte stream. */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  let n = frame.length;
  const head: number[] = [];
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  const out = new Uint8Array(head.length + frame.length);
  out.set(head);
  out.set(frame, head.length);
  return out;
}

/**
 * Splits a byte stream back into length-prefixed frames, whatever the chunk
 * boundaries. A declared length above MAX_FRAME_BYTES (or an over-long length
 * varint) throws MeshCodecError: the stream cannot be resynchronised, and the
 * caller resets it.
 */
export class FrameReader {
  #buf = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf);
    joined.set(chunk, this.#buf.length);
    const frames: Uint8Array[] = [];
    let pos = 0;
    for (;;) {
      let len = 0;
      let shift = 0;
      let i = pos;
      let complete = false;
      while (i < joined.length) {
        const b = joined[i++] as number;
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        if (shift > 21) throw new MeshCodecError('too-large', 'frame length prefix longer than 3 bytes');
      }
      if (!complete) break;
      if (len > MAX_FRAME_BYTES) {
        throw new MeshCodecError(
          'too-large',
          `frame of ${len} bytes announced, the limit is ${MAX_FRAME_BYTES}`,
        );
      }
      if (joined.length - i < len) break;
      frames.push(joined.slice(i, i + len));
      pos = i + len;
    }
    this.#buf = joined.slice(pos);
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buf.length;
  }
}
