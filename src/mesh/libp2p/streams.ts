/**
 * The probe protocol's streams: one long-lived stream per peer, opened
 * lazily on the first send (messages queue meanwhile) and reopened when it
 * closes, carrying length-prefixed frames (framing.ts) in the codec version
 * its protocol negotiated. Frames that come in go to `deliver` with the peer
 * that sent them, unchecked: the transport checks who may speak for whom.
 */
import type { PeerId, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import type { Startable } from '../../clock/lifecycle.ts';
import { encode, type CodecVersion } from '../codec.ts';
import { MeshCodecError } from '../errors.ts';
import type { DirectMessage, Endpoint, Message } from '../messages.ts';
import { FrameReader, lengthPrefixed } from './framing.ts';
import { refused } from './knock.ts';
import type { MeshNode } from './node.ts';
import { decodeCounted, type TransportStats } from './transport-stats.ts';

/**
 * Our probe protocol: one long-lived stream per peer, length-prefixed frames.
 * A stream of 2.0.0 carries codec version 2 frames, one of 1.0.0 version 1
 * (what speakers before version 2 speak): a dial offers both, newest first.
 */
export const SWIM_PROTOCOL = '/meshlb/swim/2.0.0';
const SWIM_PROTOCOL_V1 = '/meshlb/swim/1.0.0';
const SWIM_PROTOCOLS = [SWIM_PROTOCOL, SWIM_PROTOCOL_V1];
const streamVersion = (s: Stream): CodecVersion => (s.protocol === SWIM_PROTOCOL_V1 ? 1 : 2);
/** Messages queued for a peer while its stream opens; more are dropped (probes have timeouts). */
const MAX_QUEUED = 256;

interface Channel {
  stream?: Stream;
  opening?: Promise<void>;
  /** Encoded when the stream is open, in the version it negotiated. */
  queue: DirectMessage[];
}

export class StreamChannels implements Startable {
  readonly #node: MeshNode;
  readonly #stats: TransportStats;
  readonly #log: Logger | undefined;
  readonly #deliver: (peer: string, msg: Message, version: CodecVersion) => void;
  readonly #refused: (node: string) => void;
  /** Peer ID (or `addr:…` for a seed known only by address) → its channel. */
  readonly #channels = new Map<string, Channel>();
  #started = false;

  /**
   * `deliver`: a frame from `peer` (gossip types already dropped);
   * `refused`: member `node`'s host refused the dial of its stream.
   */
  constructor(opts: {
    node: MeshNode;
    stats: TransportStats;
    log?: Logger | undefined;
    deliver: (peer: string, msg: Message, version: CodecVersion) => void;
    refused: (node: string) => void;
  }) {
    this.#node = opts.node;
    this.#stats = opts.stats;
    this.#log = opts.log;
    this.#deliver = opts.deliver;
    this.#refused = opts.refused;
  }

  /** Takes the peers' streams of the probe protocol; idempotent. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#node.handle(
      SWIM_PROTOCOLS,
      (stream, connection) => {
        this.#adopt(connection.remotePeer.toString(), stream);
      },
      { maxInboundStreams: 4 },
    );
  }

  /** Aborts every stream and stops taking new ones; idempotent. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const ch of this.#channels.values()) ch.stream?.abort(new Error('transport stopped'));
    this.#channels.clear();
    await this.#node.unhandle(SWIM_PROTOCOLS);
  }

  /**
   * Writes `msg` on `peer`'s stream, or queues it while the stream opens
   * (member `to`, at `endpoint` if known; `to` is '' when unknown).
   */
  send(to: string, peer: string, endpoint: Endpoint | undefined, msg: DirectMessage): void {
    const ch = this.#channel(peer);
    if (ch.stream !== undefined && ch.stream.writeStatus === 'writable') {
      this.#write(ch.stream, msg);
      return;
    }
    if (ch.queue.length >= MAX_QUEUED) {
      this.#stats.drop('queue-full');
      return;
    }
    ch.queue.push(msg);
    ch.opening ??= this.#open(to, peer, endpoint, ch);
  }

  /** A fresh channel for `peer`: frames sent from now on queue on it until a new dial opens. */
  renew(peer: string): void {
    this.#channels.set(peer, { queue: [] });
  }

  /** Aborts `peer`'s stream and forgets its channel. */
  close(peer: string, reason: string): void {
    this.#channels.get(peer)?.stream?.abort(new Error(reason));
    this.#channels.delete(peer);
  }

  /** `peer`'s last connection closed, and its stream with it: the next send dials. */
  detach(peer: string): void {
    const ch = this.#channels.get(peer);
    if (ch !== undefined) delete ch.stream;
  }

  /** The peer ID of a connected peer (undefined: no connection to it). */
  peerIdOf(peer: string): PeerId | undefined {
    for (const c of this.#node.getConnections()) if (c.remotePeer.toString() === peer) return c.remotePeer;
    return undefined;
  }

  /** Channels held (tests: they stay bounded). */
  get size(): number {
    return this.#channels.size;
  }

  #channel(peer: string): Channel {
    let ch = this.#channels.get(peer);
    if (ch === undefined) {
      ch = { queue: [] };
      this.#channels.set(peer, ch);
    }
    return ch;
  }

  /**
   * Dials and opens the peer's stream. A seed known only by address (empty
   * peer ID) is dialled without one: the Noise handshake tells who answered,
   * and the stream is adopted under that peer.
   */
  async #open(to: string, key: string, endpoint: Endpoint | undefined, ch: Channel): Promise<void> {
    const known = endpoint !== undefined && endpoint.peerId !== '';
    try {
      const target =
        endpoint !== undefined && endpoint.addrs.length > 0
          ? endpoint.addrs
              .filter((a) => !a.includes('/udp/'))
              .map((a) => multiaddr(!known || a.includes('/p2p/') ? a : `${a}/p2p/${key}`))
          : this.peerIdOf(key);
      if (target === undefined) throw new Error(`no address for peer ${key}`);
      const connection = await this.#node.dial(target);
      const stream = await connection.newStream(SWIM_PROTOCOLS);
      const peer = connection.remotePeer.toString();
      if (peer !== key) {
        // Address-only seed: hand the queued frames to the real peer's channel.
        this.#channels.delete(key);
        this.#channel(peer).queue.push(...ch.queue.splice(0));
      }
      this.#adopt(peer, stream);
    } catch (err) {
      this.#stats.drop('dial');
      this.#log?.debug({ err, peer: key }, 'could not open a mesh stream');
      ch.queue.length = 0;
      if (to !== '' && refused(err)) this.#refused(to);
    } finally {
      delete ch.opening;
    }
  }

  /** Reads frames from a stream (ours or the peer's) and makes it the peer's channel if it has none. */
  #adopt(peer: string, stream: Stream): void {
    const ch = this.#channel(peer);
    if (ch.stream === undefined || ch.stream.writeStatus !== 'writable') {
      ch.stream = stream;
      for (const msg of ch.queue.splice(0)) this.#write(stream, msg);
    }
    const reader = new FrameReader();
    stream.addEventListener('message', (evt) => {
      const chunk = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray();
      this.#stats.bytesIn += chunk.length;
      let frames: Uint8Array[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.#stats.drop(err instanceof MeshCodecError ? err.code : 'framing');
        stream.abort(new Error('mesh framing error'));
        return;
      }
      for (const f of frames) this.#onFrame(peer, f);
    });
    stream.addEventListener('close', () => {
      if (ch.stream === stream) delete ch.stream;
    });
  }

  /** Encodes `msg` in the stream's version and writes it; a message that breaks a codec limit is dropped, logged. */
  #write(stream: Stream, msg: DirectMessage): void {
    let encoded: Uint8Array;
    try {
      encoded = encode(msg, streamVersion(stream));
    } catch (err) {
      this.#stats.drop('encode');
      this.#log?.warn({ err, type: msg.type }, 'mesh message not sent: it breaks a codec limit');
      return;
    }
    const frame = lengthPrefixed(encoded);
    this.#stats.sentBytes(msg.type, encoded.length);
    try {
      stream.send(frame);
      this.#stats.framesOut++;
      this.#stats.bytesOut += frame.length;
    } catch (err) {
      this.#stats.drop('write');
      this.#log?.debug({ err }, 'mesh stream write failed');
    }
  }

  #onFrame(peer: string, frame: Uint8Array): void {
    this.#stats.framesIn++;
    const decoded = decodeCounted(frame, this.#stats);
    if (decoded === undefined) return;
    const { msg, version } = decoded;
    if (msg.type === 'gossip') {
      this.#stats.drop('gossip-on-stream');
      return;
    }
    this.#deliver(peer, msg, version);
  }
}
