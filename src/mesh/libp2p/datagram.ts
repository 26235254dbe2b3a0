import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { MeshCodecError } from '../errors.ts';
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
 * Authentication: each datagram carries an HMAC-SHA256 tag (16 bytes) under a
 * key derived from the mesh key (HKDF, info "meshlb/check/1"): only members
 * of the mesh can send checks. Unlike libp2p streams, datagrams are not bound
 * to a peer ID, so a member holding the key could speak for another node's
 * checks; the worst it can do is delay or hasten one takeover, which the
 * mesh's own verdict and the claims then settle.
 *
 * Replay: version 2 puts the sender's epoch and a counter under the tag
 * (replay.ts); a receiver drops what it has seen or what is older. Version 1
 * (no stamp) is what speakers before it send: still accepted from a node that
 * never sent version 2, and answered in version 1, so a mesh in the middle of
 * a rolling upgrade keeps its datagram path (the transport decides).
 *
 *   v1 packet = magic (0x6d) ‖ 1 ‖ codec frame ‖ tag[16]
 *   v2 packet = magic (0x6d) ‖ 2 ‖ epoch (u64) ‖ counter (u64) ‖ codec frame ‖ tag[16]
 */
export const DATAGRAM_MAGIC = 0x6d;
export const DATAGRAM_VERSION = 2;
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

/** Seals a frame: version 2 with the stamp, version 1 (for a speaker of the older format) without. */
export function seal(key: KeyObject, frame: Uint8Array, stamp?: Stamp): Uint8Array {
  const header = stamp === undefined ? 2 : 2 + STAMP_BYTES;
  const out = new Uint8Array(header + frame.length + TAG_BYTES);
  out[0] = DATAGRAM_MAGIC;
  out[1] = stamp === undefined ? 1 : 2;
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

/** A packet opened: its frame, and its stamp (version 2; none for version 1). */
export interface Opened {
  frame: Uint8Array;
  stamp: Stamp | undefined;
}

/** Opens a packet; throws MeshCodecError for anything not sealed with this key. */
export function open(key: KeyObject, packet: Uint8Array): Opened {
  if (packet.length < 2 + TAG_BYTES)
    throw new MeshCodecError('truncated', 'datagram shorter than its header and tag');
  if (packet[0] !== DATAGRAM_MAGIC) throw new MeshCodecError('invalid', 'not a meshlb datagram');
  const version = packet[1];
  if (version !== 1 && version !== 2) throw new MeshCodecError('bad-version', `datagram version ${version}`);
  const header = version === 2 ? 2 + STAMP_BYTES : 2;
  if (packet.length < header + TAG_BYTES)
    throw new MeshCodecError('truncated', 'datagram shorter than its header and tag');
  const body = packet.subarray(0, packet.length - TAG_BYTES);
  const got = packet.subarray(packet.length - TAG_BYTES);
  if (!timingSafeEqual(tag(key, body), got)) throw new MeshCodecError('auth', 'datagram tag does not verify');
  let stamp: Stamp | undefined;
  if (version === 2) {
    const view = new DataView(packet.buffer, packet.byteOffset + 2, STAMP_BYTES);
    stamp = { epoch: Number(view.getBigUint64(0)), counter: Number(view.getBigUint64(8)) };
  }
  // A copy, never a Buffer view.
  return { frame: new Uint8Array(packet.subarray(header, packet.length - TAG_BYTES)), stamp };
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
  readonly #host: string;
  readonly #port: number;
  /** This channel's epoch: when it was made (wall-clock ms), so a restart's is higher. */
  readonly #epoch = Date.now();
  #counter = 0;
  #socket: Socket | undefined;

  constructor(opts: { networkKey: Uint8Array; host: string; port: number }) {
    this.#key = checkKey(opts.networkKey);
    this.#host = opts.host;
    this.#port = opts.port;
  }

  /** Binds; resolves with the bound address. Frames that fail to unseal go to onDrop with the reason. */
  start(
    onFrame: (frame: Uint8Array, from: UdpAddress, stamp: Stamp | undefined) => void,
    onDrop: (reason: string) => void,
  ): Promise<UdpAddress> {
    const socket = createSocket({ type: isIPv6(this.#host) ? 'udp6' : 'udp4' });
    this.#socket = socket;
    socket.on('message', (packet, rinfo) => {
      let opened: Opened;
      try {
        opened = open(this.#key, packet);
      } catch (err) {
        onDrop(err instanceof MeshCodecError ? `datagram-${err.code}` : 'datagram');
        return;
      }
      onFrame(opened.frame, { address: rinfo.address, port: rinfo.port }, opened.stamp);
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
   * Sends a sealed frame (version 2, stamped; `legacy`: version 1, for a
   * speaker of the older format); false when it is too big for one datagram
   * (the caller uses the stream).
   */
  send(to: UdpAddress, frame: Uint8Array, legacy = false): boolean {
    const packet = seal(
      this.#key,
      frame,
      legacy ? undefined : { epoch: this.#epoch, counter: this.#counter++ },
    );
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
