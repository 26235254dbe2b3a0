/**
 * Which frame version each member reads (codec.ts), so that a mesh of two
 * releases keeps talking through a rolling upgrade: a speaker sends a member
 * the highest version both read, and version 1 to one it knows nothing of.
 *
 * What it learns from (all authenticated before they get here):
 * - every frame a member sends: a version 2 frame means it reads version 2;
 * - a push-pull's `protocol`: the highest version the sender reads, set anew by
 *   a join (a restarted process may be an older release with the same identity).
 * Streams need none of it: each negotiates its protocol (`/meshlb/swim/2.0.0`,
 * else `1.0.0`) and carries that version. Gossipsub carries one copy to
 * everyone: version 1 while any member known reads only version 1, else 2.
 */
import { BoundedMap } from '../bounded-map.ts';
import { CODEC_VERSION, type CodecVersion } from '../codec.ts';
import type { Message } from '../messages.ts';

const clamp = (v: number): CodecVersion => (v >= CODEC_VERSION ? CODEC_VERSION : 1);

export class PeerVersions {
  readonly #reads: BoundedMap<string, CodecVersion>;

  constructor(max: number) {
    this.#reads = new BoundedMap<string, CodecVersion>(max);
  }

  /** A frame of `version` came from `node`. */
  heard(node: string, version: CodecVersion, msg: Message): void {
    if (msg.type === 'push-pull' && msg.join) {
      // A (re)starting process says what it reads: no earlier life's version counts.
      this.#reads.set(node, clamp(msg.protocol ?? 1));
      return;
    }
    const known = this.#reads.get(node);
    let v: CodecVersion = known === undefined || version > known ? version : known;
    if (msg.type === 'push-pull' && msg.protocol !== undefined && clamp(msg.protocol) > v)
      v = clamp(msg.protocol);
    if (v !== known) this.#reads.set(node, v);
  }

  /** The version to send `node` (1 when nothing is known of it). */
  to(node: string): CodecVersion {
    return this.#reads.get(node) ?? 1;
  }

  /** The version for a broadcast: what every member known reads (changes are rare: a scan is fine). */
  broadcast(): CodecVersion {
    for (const v of this.#reads.values()) if (v === 1) return 1;
    return CODEC_VERSION;
  }

  forget(node: string): void {
    this.#reads.delete(node);
  }

  /** Members known, by the highest version they read (metrics). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.#reads.values()) out[String(v)] = (out[String(v)] ?? 0) + 1;
    return out;
  }
}
