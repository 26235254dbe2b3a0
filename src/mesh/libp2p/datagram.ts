import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { MeshCodecError } from '../errors.ts';
import type { PairKeys } from './pair-keys.ts';
import type { Stamp } from './replay.ts';

/**
 * The datagram path for check traffic (the heirs' fast failover checks).
 *
 * Why: over a TCP connection one lost segment stalls everything behind it for
 * a retransmission timeout (≥ 200 ms on Linux, doubling): losses that should
 * be independent become a 200–600 ms silence, which a check cannot tell from
 * the hang it must catch. Datagrams are lost one by one. (memberlist probes
 * over UDP for the same reason.)
 *
 * Authentication: each datagram carries an HMAC-SHA256 tag (16 bytes).
 * Version 3 names its sender's peer ID and is tagged with the key of that
 * sender and its receiver (pair-keys.ts: X25519 of their Ed25519 peer keys,
 * salted with the mesh key), so a datagram is bound to a peer as a libp2p
 * stream is, and the transport checks that peer may speak for the node the
 * frame names. Versions 1 and 2 (speakers before version 3) are tagged with
 * a key derived from the mesh key alone (HKDF, info "meshlb/check/1"): any
 * member could speak for another node's checks; they are sent only to
 * members that read nothing newer, and refused from a node once it has sent
 * version 3 (`datagram-downgrade`).
 *
 * Replay: version 2 puts the sender's epoch and a counter under the tag
 * (replay.ts); a receiver drops what it has seen or what is older. Version 1
 * (no stamp) is what speakers before it send: still accepted from a node that
 * never sent version 2, and answered in version 1, so a mesh in the middle of
 * a rolling upgrade keeps its datagram path (the transport decides).
 *
 *   v1 packet = magic (0x6d) ‖ 1 ‖ codec frame ‖ tag[16]
 *   v2 packet = magic (0x6d) ‖ 2 ‖ epoch (u64) ‖ counter (u64) ‖ codec frame ‖ tag[16]
 *   v3 packet = magic (0x6d) ‖ 3 ‖ epoch (u64) ‖ counter (u64) ‖ n (u8) ‖ sender peer ID (n bytes of text)
 *               ‖ codec frame ‖ tag[16] under the pair's key
 */
export const DATAGRAM_MAGIC = 0x6d;
export const DATAGRAM_VERSION = 3;
export type DatagramVersion = 1 | 2 | 3;
/** A peer ID in text (base58 of an Ed25519 identity: 52 characters; room for other types). */
const MAX_SENDER_BYTES = 128;
const TAG_BYTES = 16;
const STAMP_BYTES = 16;
/** Check frames are small (a ping with piggybacked updates); keep well under a 1,280-byte IPv6 MTU. */
export const MAX_DATAGRAM_BYTES = 1_200;

/**
 * The HMAC key of the datagram path. A KeyObject, made once: given raw bytes,
 * createHmac builds a key from them on every call, which was a tenth of a
 * speaker's CPU at the close watch's rate of checks.
 */
export function checkKey(networkKey: Uint8Array): KeyObject {
  return createSecretKey(
    Buffer.from(hkdfSync('sha256', networkKey, new Uint8Array(0), 'meshlb/check/1', 32)),
  );
}

function tag(key: KeyObject, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, TAG_BYTES);
}

/**
 * Seals a frame: version 2 with the stamp, version 1 (for a speaker of the
 * older format) without; version 3 when `sender` (this speaker's peer ID, as
 * UTF-8) is given, with `key` the pair's.
 */
export function seal(key: KeyObject, frame: Uint8Array, stamp?: Stamp, sender?: Uint8Array): Uint8Array {
  if (
    sender !== undefined &&
    (stamp === undefined || sender.length === 0 || sender.length > MAX_SENDER_BYTES)
  )
    throw new RangeError('a version 3 datagram needs a stamp and a sender of 1…128 bytes');
  const senderBytes = sender === undefined ? 0 : 1 + sender.length;
  const header = stamp === undefined ? 2 : 2 + STAMP_BYTES + senderBytes;
  const out = new Uint8Array(header + frame.length + TAG_BYTES);
  out[0] = DATAGRAM_MAGIC;
  out[1] = stamp === undefined ? 1 : sender === undefined ? 2 : 3;
  if (sender !== undefined) {
    out[2 + STAMP_BYTES] = sender.length;
    out.set(sender, 3 + STAMP_BYTES);
  }
  if (stamp !== undefined) {
    const view = new DataView(out.buffer, out.byteOffset + 2, STAMP_BYTES);
    view.setBigUint64(0, BigInt(stamp.epoch));
    view.setBigUint64(8, BigInt(stamp.counter));
  }
  out.set(frame, header);
  const body = out.subarray(0, header + frame.length);
  out.set(tag(key, body), body.length);
  return out;
}

/** A packet opened: its frame, its stamp (versions 2 and 3), and for version 3 the sender's peer ID. */
export interface Opened {
  frame: Uint8Array;
  stamp: Stamp | undefined;
  sender?: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Opens a packet; throws MeshCodecError for anything not sealed with `key`
 * (versions 1 and 2) or with the key `pairKey` gives for its sender (version
 * 3; none: `auth`).
 */
export function open(
  key: KeyObject,
  packet: Uint8Array,
  pairKey: (sender: string) => KeyObject | undefined = () => undefined,
): Opened {
  if (packet.length < 2 + TAG_BYTES)
    throw new MeshCodecError('truncated', 'datagram shorter than its header and tag');
  if (packet[0] !== DATAGRAM_MAGIC) throw new MeshCodecError('invalid', 'not a meshlb datagram');
  const version = packet[1];
  if (version !== 1 && version !== 2 && version !== 3)
    throw new MeshCodecError('bad-version', `datagram version ${version}`);
  let header = version === 1 ? 2 : 2 + STAMP_BYTES;
  let sender: string | undefined;
  let tagKey: KeyObject | undefined = key;
  if (version === 3) {
    const n = packet[header];
    if (n === undefined || packet.length < header + 1 + n + TAG_BYTES)
      throw new MeshCodecError('truncated', 'datagram shorter than its header and tag');
    if (n === 0 || n > MAX_SENDER_BYTES) throw new MeshCodecError('invalid', `a sender of ${n} bytes`);
    try {
      sender = strictUtf8.decode(packet.subarray(header + 1, header + 1 + n));
    } catch {
      throw new MeshCodecError('bad-utf8', 'the sender is not valid UTF-8');
    }
    header += 1 + n;
    tagKey = pairKey(sender);
    if (tagKey === undefined) throw new MeshCodecError('auth', `no key for sender ${sender}`);
  }
  if (packet.length < header + TAG_BYTES)
    throw new MeshCodecError('truncated', 'datagram shorter than its header and tag');
  const body = packet.subarray(0, packet.length - TAG_BYTES);
  const got = packet.subarray(packet.length - TAG_BYTES);
  if (!timingSafeEqual(tag(tagKey, body), got))
    throw new MeshCodecError('auth', 'datagram tag does not verify');
  let stamp: Stamp | undefined;
  if (version !== 1) {
    const view = new DataView(packet.buffer, packet.byteOffset + 2, STAMP_BYTES);
    stamp = { epoch: Number(view.getBigUint64(0)), counter: Number(view.getBigUint64(8)) };
  }
  // A copy, never a Buffer view.
  const frame = new Uint8Array(packet.subarray(header, packet.length - TAG_BYTES));
  return sender === undefined ? { frame, stamp } : { frame, stamp, sender };
}

/** The codec frame inside a packet (open without the stamp). */
export function unseal(key: KeyObject, packet: Uint8Array): Uint8Array {
  return open(key, packet).frame;
}

export interface UdpAddress {
  address: string;
  port: number;
}

/** A UDP socket that sends and receives sealed frames. */
export class DatagramChannel {
  readonly #key: KeyObject;
  readonly #pairs: PairKeys | undefined;
  readonly #known: (peer: string) => boolean;
  /** This speaker's peer ID as version 3 names it. */
  readonly #sender: Uint8Array | undefined;
  readonly #host: string;
  readonly #port: number;
  /** This channel's epoch: when it was made (wall-clock ms), so a restart's is higher. */
  readonly #epoch = Date.now();
  #counter = 0;
  #socket: Socket | undefined;

  /**
   * `pairs`: version 3 (sender-bound tags); without it, versions 1 and 2 only.
   * `known`: the senders whose version 3 datagrams are opened (a pair key costs
   * an X25519 agreement to make: only for peers heard on an authenticated
   * stream, not for any peer ID a stranger writes in a header).
   */
  constructor(opts: {
    networkKey: Uint8Array;
    host: string;
    port: number;
    pairs?: { keys: PairKeys; self: string; known: (peer: string) => boolean };
  }) {
    this.#key = checkKey(opts.networkKey);
    this.#pairs = opts.pairs?.keys;
    this.#known = opts.pairs?.known ?? (() => false);
    this.#sender = opts.pairs === undefined ? undefined : new TextEncoder().encode(opts.pairs.self);
    this.#host = opts.host;
    this.#port = opts.port;
  }

  /** Binds; resolves with the bound address. Frames that fail to unseal go to onDrop with the reason. */
  start(
    onFrame: (opened: Opened, from: UdpAddress) => void,
    onDrop: (reason: string) => void,
  ): Promise<UdpAddress> {
    const socket = createSocket({ type: isIPv6(this.#host) ? 'udp6' : 'udp4' });
    this.#socket = socket;
    const pairKey = (sender: string): KeyObject | undefined =>
      this.#known(sender) ? this.#pairs?.keyFor(sender) : undefined;
    socket.on('message', (packet, rinfo) => {
      let opened: Opened;
      try {
        opened = open(this.#key, packet, pairKey);
      } catch (err) {
        onDrop(err instanceof MeshCodecError ? `datagram-${err.code}` : 'datagram');
        return;
      }
      onFrame(opened, { address: rinfo.address, port: rinfo.port });
    });
    // Errors of an unconnected UDP socket are per send (e.g. ICMP is ignored): nothing to do but count.
    socket.on('error', () => {
      onDrop('datagram-socket');
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#port, this.#host, () => {
        socket.off('error', reject);
        const a = socket.address();
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  /**
   * Sends a sealed frame: version 3 to `peer` (a peer ID) when it is given and
   * a pair key can be made for it, else version 2 (stamped), or version 1 when
   * `legacy` (a speaker of the oldest format). False when it is too big for one
   * datagram (the caller uses the stream).
   */
  send(
    to: UdpAddress,
    frame: Uint8Array,
    opts: { legacy?: boolean; peer?: string | undefined } = {},
  ): boolean {
    const pair = opts.peer === undefined ? undefined : this.#pairs?.keyFor(opts.peer);
    const stamp = opts.legacy === true ? undefined : { epoch: this.#epoch, counter: this.#counter++ };
    const packet =
      pair !== undefined && stamp !== undefined
        ? seal(pair, frame, stamp, this.#sender)
        : seal(this.#key, frame, stamp);
    if (this.#socket === undefined || packet.length > MAX_DATAGRAM_BYTES) return false;
    this.#socket.send(packet, to.port, to.address);
    return true;
  }

  stop(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }
}

/** The UDP address in an endpoint's multiaddrs (/ip4/…/udp/… or /ip6/…/udp/…), if any. */
export function udpAddressOf(addrs: readonly string[]): UdpAddress | undefined {
  for (const a of addrs) {
    const m = /^\/ip[46]\/([^/]+)\/udp\/(\d+)$/.exec(a);
    if (m !== null) return { address: m[1] as string, port: Number(m[2]) };
  }
  return undefined;
}
