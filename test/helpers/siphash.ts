/** SipHash-2-4 in BigInt arithmetic, to check native/pulse.c's against (and to forge test frames). */
const M = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M;

function le64(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return v;
}

export function siphash24(key: Uint8Array, input: Uint8Array): bigint {
  const k0 = le64(key, 0);
  const k1 = le64(key, 8);
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const whole = input.length - (input.length % 8);
  for (let i = 0; i < whole; i += 8) {
    const m = le64(input, i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let b = BigInt(input.length & 0xff) << 56n;
  for (let i = 0; i < input.length % 8; i++) b |= BigInt(input[whole + i] ?? 0) << BigInt(8 * i);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** A pulse frame as native/pulse.c makes it: "MLP" 1 ‖ id ‖ seq (BE) ‖ SipHash tag (LE). */
export function pulseFrame(key: Uint8Array, id: Uint8Array, seq: bigint): Buffer {
  const f = Buffer.alloc(28);
  f.write('MLP', 0, 'latin1');
  f[3] = 1;
  f.set(id, 4);
  f.writeBigUInt64BE(seq, 12);
  f.writeBigUInt64LE(siphash24(key, f.subarray(0, 20)), 20);
  return f;
}
