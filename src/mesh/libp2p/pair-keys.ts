/**
 * Per-pair keys for the datagram path (datagram.ts, version 3): the tag of a
 * datagram from A to B is made with a key only A and B can compute, so a
 * member holding the mesh key can no longer speak for another node's checks.
 *
 * No exchange is needed: both ends know their own Ed25519 peer key and the
 * other's public key, which an Ed25519 peer ID carries. Each converts its
 * Ed25519 key to X25519 (RFC 7748's birational map; the private scalar is the
 * clamped first half of SHA-512 of the seed, as Ed25519 uses it), computes
 * the X25519 shared secret, and derives the pair's key with HKDF-SHA256 salted
 * with the mesh key (an outsider with the peer keys still cannot) and bound to
 * the two peer IDs. Derived once per peer and kept (bounded).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { BoundedMap } from '../bounded-map.ts';

const P = 2n ** 255n - 19n;

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b %= P;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}

const fromLE = (b: Uint8Array): bigint => b.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);

function toLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** An Ed25519 public key (32 bytes) as an X25519 one: u = (1 + y) / (1 − y) mod p. */
export function x25519PublicOf(ed: Uint8Array): Uint8Array {
  const y = fromLE(ed) & ((1n << 255n) - 1n);
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P;
  return toLE(u);
}

/** An Ed25519 seed (32 bytes) as an X25519 private scalar: SHA-512, first half, clamped. */
export function x25519PrivateOf(seed: Uint8Array): Uint8Array {
  const h = createHash('sha512').update(seed).digest().subarray(0, 32);
  const a = new Uint8Array(h);
  a[0] = (a[0] as number) & 248;
  a[31] = ((a[31] as number) & 127) | 64;
  return a;
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** Most peers a speaker keeps a pair key for (one per member; as the transport's tables). */
const MAX_PAIRS = 4_096;

export class PairKeys {
  readonly #self: string;
  readonly #private: KeyObject;
  readonly #salt: Uint8Array;
  readonly #keys = new BoundedMap<string, KeyObject | null>(MAX_PAIRS);
  readonly #pulseKeys = new BoundedMap<string, Uint8Array>(MAX_PAIRS);

  /** `key`: this speaker's Ed25519 peer key; `networkKey`: the mesh key. Throws for another key type. */
  constructor(key: PrivateKey, selfPeerId: string, networkKey: Uint8Array) {
    if (key.type !== 'Ed25519') throw new TypeError(`pair keys need an Ed25519 peer key, not ${key.type}`);
    const seed = key.raw.subarray(0, 32);
    const pub = key.publicKey.raw;
    this.#private = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64url(x25519PrivateOf(seed)), x: b64url(x25519PublicOf(pub)) },
      format: 'jwk',
    });
    this.#self = selfPeerId;
    this.#salt = networkKey;
  }

  /** The key of this speaker and `peer` (a peer ID); undefined when its ID carries no Ed25519 key. */
  keyFor(peer: string): KeyObject | undefined {
    let k = this.#keys.get(peer);
    if (k === undefined) {
      k = this.#derive(peer);
      this.#keys.set(peer, k);
    }
    return k ?? undefined;
  }

  /**
   * The pair's 16-byte key of the pulse (native/pulse.c: SipHash-2-4 tags),
   * derived from the pair's key: only the two ends can make it either.
   */
  pulseKeyFor(peer: string): Uint8Array | undefined {
    let k = this.#pulseKeys.get(peer);
    if (k === undefined) {
      const pair = this.keyFor(peer);
      if (pair === undefined) return undefined;
      k = new Uint8Array(hkdfSync('sha256', pair.export(), new Uint8Array(0), 'meshlb/pulse/1', 16));
      this.#pulseKeys.set(peer, k);
    }
    return k;
  }

  #derive(peer: string): KeyObject | null {
    let ed: Uint8Array;
    try {
      const id = peerIdFromString(peer);
      if (id.type !== 'Ed25519') return null;
      ed = id.publicKey.raw;
    } catch {
      return null;
    }
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: b64url(x25519PublicOf(ed)) },
      format: 'jwk',
    });
    const shared = diffieHellman({ privateKey: this.#private, publicKey });
    const pair = [this.#self, peer].sort().join(' ');
    return createSecretKey(Buffer.from(hkdfSync('sha256', shared, this.#salt, `meshlb/check/3 ${pair}`, 32)));
  }
}
