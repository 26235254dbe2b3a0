import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import type { Message as PubsubMessage } from '@libp2p/gossipsub';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import { BoundedMap } from '../bounded-map.ts';
import { decodeFrame, encode, type CodecVersion } from '../codec.ts';
import { MeshCodecError } from '../errors.ts';
import type { BroadcastMessage, DirectMessage, Endpoint, Message } from '../messages.ts';
import type { MeshTransport, PeerAuthority, SendPath } from '../transport.ts';
import { DatagramChannel, udpAddressOf, type Opened, type UdpAddress } from './datagram.ts';
import { PairKeys } from './pair-keys.ts';
import { FrameReader, lengthPrefixed } from './framing.ts';
import { knock, refused, tcpAddressOf } from './knock.ts';
import { ReplayWindow, type Stamp } from './replay.ts';
import type { MeshNode } from './node.ts';
import { PeerVersions } from './versions.ts';

/**
 * Our probe protocol: one long-lived stream per peer, length-prefixed frames.
 * A stream of 2.0.0 carries codec version 2 frames, one of 1.0.0 version 1
 * (what speakers before version 2 speak): a dial offers both, newest first.
 */
export const SWIM_PROTOCOL = '/meshlb/swim/2.0.0';
export const SWIM_PROTOCOL_V1 = '/meshlb/swim/1.0.0';
const SWIM_PROTOCOLS = [SWIM_PROTOCOL, SWIM_PROTOCOL_V1];
const streamVersion = (s: Stream): CodecVersion => (s.protocol === SWIM_PROTOCOL_V1 ? 1 : 2);
/** Membership changes (gossip envelopes) and announcement claims travel on this gossipsub topic. */
export const MEMBERSHIP_TOPIC = 'meshlb/membership/1';
/** Messages queued for a peer while its stream opens; more are dropped (probes have timeouts). */
const MAX_QUEUED = 256;

/**
 * Node names remembered per table (peer IDs, datagram addresses, endpoints,
 * knocks). Far above any mesh meshlb runs (the simulator's largest is 1,000
 * members); what a keyed sender inventing names can make it hold (~1 MB).
 * Reaped members are forgotten at once (forget).
 */
export const MAX_TRACKED_NODES = 4_096;
/**
 * How long a refused knock keeps probes and checks of that member to
 * datagrams (no libp2p dial), unless it sends us something first. Its
 * process is gone: a restarted one contacts us as it joins.
 */
const REFUSED_QUIET_MS = 1_000;
/** What the transport delivers to: the membership core. */
export interface MeshSink {
  /** `urgent`: it came as a datagram (check traffic): answer the same way. */
  handle(msg: Message, opts?: { urgent?: boolean }): void;
  /** A connection to this member closed: probe it now (never a verdict). */
  hint(node: string): void;
  /**
   * This member's host refused a connection to its mesh port (its process is
   * gone): checks of it need not wait their timeouts. Only a refusal: a dial
   * that timed out, found no route or neighbour (a partition, a cut cable) or
   * was aborted says nothing of the process, and must not hasten a verdict.
   */
  unreachable?(node: string): void;
}

/** Counters of the libp2p adapter (the metrics module exports them). */
export class TransportStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  gossipIn = 0;
  gossipOut = 0;
  datagramsIn = 0;
  datagramsOut = 0;
  /** Connections dropped because a member believed dead answered (see MeshTransport.revive). */
  revived = 0;
  /** Knocks after a closed connection that were refused (the member's process is gone; see #knock). */
  knocksRefused = 0;
  readonly dropped: Record<string, number> = {};
  /** Encoded bytes (the codec's, without stream length prefixes) by message type, over streams, datagrams and gossipsub. */
  readonly bytesSentByType: Record<string, number> = {};
  readonly bytesReceivedByType: Record<string, number> = {};

  drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  sentBytes(type: string, n: number): void {
    this.bytesSentByType[type] = (this.bytesSentByType[type] ?? 0) + n;
  }

  receivedBytes(type: string, n: number): void {
    this.bytesReceivedByType[type] = (this.bytesReceivedByType[type] ?? 0) + n;
  }
}

interface Channel {
  stream?: Stream;
  opening?: Promise<void>;
  /** Encoded when the stream is open, in the version it negotiated. */
  queue: DirectMessage[];
}

/**
 * MeshTransport over libp2p. Direct messages go on one long-lived stream per
 * peer (reopened lazily when it closes), gossip on the gossipsub topic. Every
 * inbound message is decoded and its sender checked against the
 * PeerAuthority before the core sees it; anything else is dropped and
 * counted. A closed connection is passed to the core as a hint to probe that
 * member now — never as a verdict.
 */
export class Libp2pTransport implements MeshTransport {
  readonly stats = new TransportStats();
  readonly #node: MeshNode;
  readonly #authority: PeerAuthority | undefined;
  readonly #log: Logger | undefined;
  readonly #channels = new Map<string, Channel>();
  /** Node name → peer ID, learnt from authenticated messages (replies to seeds need it). */
  readonly #peerOfNode = new BoundedMap<string, string>(MAX_TRACKED_NODES);
  readonly #nodeOfPeer = new BoundedMap<string, string>(MAX_TRACKED_NODES);
  /** Node name → UDP address of its datagram path, learnt from endpoints and datagrams. */
  readonly #udpOfNode = new BoundedMap<string, UdpAddress>(MAX_TRACKED_NODES);
  /** Node name → the endpoint it was last sent to (where #knock knocks). */
  readonly #endpointOfNode = new BoundedMap<string, Endpoint>(MAX_TRACKED_NODES);
  /** Node name → its knock: in flight, or when it was refused. Anything it sends clears it. */
  readonly #knocks = new BoundedMap<string, 'knocking' | number>(MAX_TRACKED_NODES);
  /** Node name → what its stamped datagrams have been (replay protection). */
  readonly #replay = new BoundedMap<string, ReplayWindow>(MAX_TRACKED_NODES);
  /** Nodes that send unstamped (version 1) datagrams: they get version 1 back. */
  readonly #legacy = new BoundedMap<string, true>(MAX_TRACKED_NODES);
  /** Nodes that send datagrams bound to their peer key (version 3): unbound ones from them are dropped. */
  readonly #signed = new BoundedMap<string, true>(MAX_TRACKED_NODES);
  /** Which codec version each member reads (datagrams and gossip; streams negotiate their own). */
  readonly #versions = new PeerVersions(MAX_TRACKED_NODES);
  readonly #datagram: DatagramChannel | undefined;
  #udp: UdpAddress | undefined;
  #sink: MeshSink | undefined;
  #started = false;

  constructor(opts: {
    node: MeshNode;
    authority?: PeerAuthority;
    log?: Logger;
    /**
     * The datagram path for check traffic (see datagram.ts); port 0 picks one.
     * `privateKey`: this node's peer key (Ed25519), for datagrams bound to
     * their sender (version 3); without it, only the mesh key's tag.
     */
    datagram?: { host: string; port: number; networkKey: Uint8Array; privateKey?: PrivateKey };
  }) {
    this.#node = opts.node;
    this.#authority = opts.authority;
    this.#log = opts.log;
    const d = opts.datagram;
    if (d !== undefined) {
      const self = opts.node.peerId.toString();
      const pairs =
        d.privateKey?.type === 'Ed25519'
          ? {
              keys: new PairKeys(d.privateKey, self, d.networkKey),
              self,
              known: (peer: string) => this.#nodeOfPeer.has(peer),
            }
          : undefined;
      this.#datagram = new DatagramChannel({ ...d, ...(pairs === undefined ? {} : { pairs }) });
    }
  }

  /** This node's endpoint, to announce in alive updates (call listen() first for the datagram address). */
  get endpoint(): Endpoint {
    const addrs = this.#node.getMultiaddrs().map((a) => a.toString());
    if (this.#udp !== undefined) {
      addrs.push(
        `/${this.#udp.address.includes(':') ? 'ip6' : 'ip4'}/${this.#udp.address}/udp/${this.#udp.port}`,
      );
    }
    return { peerId: this.#node.peerId.toString(), addrs };
  }

  /** Binds the datagram path (if any); idempotent. */
  async listen(): Promise<void> {
    if (this.#datagram === undefined || this.#udp !== undefined) return;
    this.#udp = await this.#datagram.start(
      (opened, from) => {
        this.#onDatagram(opened, from);
      },
      (reason) => {
        this.stats.drop(reason);
      },
    );
  }

  async start(sink: MeshSink): Promise<void> {
    if (this.#started) return;
    await this.listen();
    this.#started = true;
    this.#sink = sink;
    await this.#node.handle(
      SWIM_PROTOCOLS,
      (stream, connection) => {
        this.#adopt(connection.remotePeer.toString(), stream);
      },
      { maxInboundStreams: 4 },
    );
    const pubsub = this.#node.services.pubsub;
    pubsub.addEventListener('message', this.#gossipListener);
    pubsub.subscribe(MEMBERSHIP_TOPIC);
    this.#node.addEventListener('connection:close', this.#closeListener);
  }

  readonly #gossipListener = (evt: CustomEvent<PubsubMessage>): void => {
    this.#onGossip(evt.detail);
  };

  readonly #closeListener = (evt: CustomEvent<Connection>): void => {
    this.#onConnectionClose(evt.detail);
  };

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#node.services.pubsub.removeEventListener('message', this.#gossipListener);
    this.#node.services.pubsub.unsubscribe(MEMBERSHIP_TOPIC);
    this.#node.removeEventListener('connection:close', this.#closeListener);
    this.#datagram?.stop();
    this.#udp = undefined;
    for (const ch of this.#channels.values()) ch.stream?.abort(new Error('transport stopped'));
    this.#channels.clear();
    await this.#node.unhandle(SWIM_PROTOCOLS);
  }

  send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage, path: SendPath = 'stream'): void {
    if (!this.#started) return;
    if (endpoint !== undefined && endpoint.peerId !== '') this.#endpointOfNode.set(to, endpoint);
    // Probes and checks go as a datagram (no head-of-line blocking), with a
    // stream copy unless the path is 'datagram' (see SendPath). The receiver
    // answers each copy the way it came; the second answer is dropped
    // (counted as a duplicate). Checks send several pings with one seq: each is answered.
    // While a knock is out or was refused, the datagram is all: a libp2p dial
    // to a crashed member costs every survivor CPU at the moment the heirs
    // need it (at N = 8, several failed dials each in the first 100 ms).
    const sent = path !== 'stream' && this.#sendDatagram(to, endpoint, msg);
    if (sent && (path === 'datagram' || this.#knockedOut(to))) return;
    // A seed known only by address gets a channel keyed by its addresses until the handshake names it.
    const peer =
      endpoint === undefined
        ? this.#peerOfNode.get(to)
        : endpoint.peerId !== ''
          ? endpoint.peerId
          : `addr:${endpoint.addrs.join(',')}`;
    if (peer === undefined) {
      this.stats.drop('no-endpoint');
      return;
    }
    const ch = this.#channel(peer);
    if (ch.stream !== undefined && ch.stream.writeStatus === 'writable') {
      this.#write(ch.stream, msg);
      return;
    }
    if (ch.queue.length >= MAX_QUEUED) {
      this.stats.drop('queue-full');
      return;
    }
    ch.queue.push(msg);
    ch.opening ??= this.#open(to, peer, endpoint, ch);
  }

  /** True when the datagram went out (false: no datagram path, no address, or too large). */
  #sendDatagram(to: string, endpoint: Endpoint | undefined, msg: DirectMessage): boolean {
    if (this.#datagram === undefined) return false;
    const udp =
      (endpoint === undefined ? undefined : udpAddressOf(endpoint.addrs)) ?? this.#udpOfNode.get(to);
    if (udp === undefined) return false;
    try {
      const version = this.#versions.to(to);
      const encoded = encode(msg, version);
      // Bound to this sender (version 3) for a member that reads frame format 2
      // (the release that reads version 3 datagrams); the mesh key's tag for older ones.
      const peer = version >= 2 ? (this.#peerOfNode.get(to) ?? endpoint?.peerId) : undefined;
      const sent = this.#datagram.send(udp, encoded, {
        legacy: this.#legacy.has(to),
        peer: peer === '' ? undefined : peer,
      });
      if (sent) {
        this.stats.datagramsOut++;
        this.stats.sentBytes(msg.type, encoded.length);
        return true;
      }
    } catch (err) {
      this.stats.drop('datagram-send');
      this.#log?.debug({ err, to }, 'check datagram not sent');
    }
    return false;
  }

  revive(to: string, endpoint: Endpoint | undefined): void {
    if (!this.#started) return;
    const peer = this.#peerOfNode.get(to) ?? (endpoint?.peerId === '' ? undefined : endpoint?.peerId);
    if (peer === undefined) return;
    const id = this.#peerIdOf(peer);
    if (id === undefined) return; // no connection: the next send dials a fresh one anyway
    const connections = this.#node.getConnections(id);
    // Abort, not close: a graceful close would wait on the stalled connection.
    // Frames sent from now on queue on a new channel until the fresh dial opens.
    this.#channels.set(peer, { queue: [] });
    this.stats.revived++;
    for (const c of connections) c.abort(new Error('mesh: member answered after being declared dead'));
  }

  /**
   * Replay protection (replay.ts): a stamped datagram must be new for its
   * sender; an unstamped one (a speaker of the older format) is accepted
   * only from a node that never sent a stamped one, and marks that node to be
   * answered unstamped. Drops are counted (`datagram-replay`, `datagram-downgrade`).
   */
  #fresh(node: string, stamp: Stamp | undefined): boolean {
    let window = this.#replay.get(node);
    if (stamp === undefined) {
      if (window !== undefined) {
        this.stats.drop('datagram-downgrade');
        return false;
      }
      this.#legacy.set(node, true);
      return true;
    }
    if (window === undefined) {
      window = new ReplayWindow();
      this.#replay.set(node, window);
    }
    if (window.accept(stamp) !== 'ok') {
      this.stats.drop('datagram-replay');
      return false;
    }
    this.#legacy.delete(node);
    return true;
  }

  /**
   * Member `node` was reaped: its addresses, peer ID, knock and stream go.
   * Its replay window stays (bounded with the others): forgetting it would let
   * captures of the dead member's datagrams pass again.
   */
  forget(node: string): void {
    const peer = this.#peerOfNode.get(node);
    this.#peerOfNode.delete(node);
    this.#udpOfNode.delete(node);
    this.#endpointOfNode.delete(node);
    this.#knocks.delete(node);
    this.#versions.forget(node);
    this.#signed.delete(node);
    if (peer === undefined || this.#nodeOfPeer.get(peer) !== node) return;
    this.#nodeOfPeer.delete(peer);
    this.#channels.get(peer)?.stream?.abort(new Error('mesh: member reaped'));
    this.#channels.delete(peer);
    // libp2p keeps every peer it dialled or identified in its peer store, in
    // memory, for good: one entry per speaker process that ever ran (a restart
    // is a new peer ID). Measured: bench/mesh-soak.ts, one entry per member churned.
    this.#dropFromPeerStore(peer);
  }

  #dropFromPeerStore(peer: string): void {
    let id: PeerId;
    try {
      id = peerIdFromString(peer);
    } catch {
      return; // never a valid peer ID: never stored
    }
    this.#node.peerStore.delete(id).catch((err: unknown) => {
      this.#log?.debug({ err, peer }, 'could not delete a reaped peer from the peer store');
    });
  }

  /** Members heard from, by the highest codec version they read (metrics). */
  peerVersions(): Record<string, number> {
    return this.#versions.counts();
  }

  /** How many entries its per-node tables hold (tests: they stay bounded). */
  tracked(): {
    peers: number;
    udp: number;
    endpoints: number;
    knocks: number;
    channels: number;
    signed: number;
  } {
    return {
      signed: this.#signed.size,
      peers: this.#peerOfNode.size,
      udp: this.#udpOfNode.size,
      endpoints: this.#endpointOfNode.size,
      knocks: this.#knocks.size,
      channels: this.#channels.size,
    };
  }

  #onDatagram(opened: Opened, from: UdpAddress): void {
    const { frame, stamp, sender } = opened;
    this.stats.datagramsIn++;
    let msg: Message;
    let version: CodecVersion;
    try {
      ({ msg, version } = decodeFrame(frame));
    } catch (err) {
      this.stats.drop(err instanceof MeshCodecError ? err.code : 'decode');
      return;
    }
    this.stats.receivedBytes(msg.type, frame.length);
    if (msg.type === 'gossip' || msg.type === 'claims' || msg.type === 'push-pull') {
      this.stats.drop('datagram-type');
      return;
    }
    if (sender !== undefined) {
      // Bound to its sender's peer key: that peer must be the node's, as on a stream.
      if (this.#authority !== undefined && !this.#authority.maySpeakFor(sender, msg.from)) {
        this.stats.drop('unauthorised');
        return;
      }
      this.#signed.set(msg.from, true);
    } else if (this.#signed.has(msg.from)) {
      // It sends bound datagrams: an unbound one in its name is a forgery or a replay.
      this.stats.drop('datagram-downgrade');
      return;
    }
    if (!this.#fresh(msg.from, stamp)) return;
    this.#versions.heard(msg.from, version, msg);
    this.#udpOfNode.set(msg.from, from);
    this.#knocks.delete(msg.from);
    this.#sink?.handle(msg, { urgent: true });
  }

  broadcast(msg: BroadcastMessage): void {
    if (!this.#started) return;
    let data: Uint8Array;
    try {
      data = encode(msg, this.#versions.broadcast());
    } catch (err) {
      this.stats.drop('encode');
      this.#log?.warn({ err }, 'gossip not sent: it breaks a codec limit');
      return;
    }
    this.stats.gossipOut++;
    this.stats.sentBytes(msg.type, data.length);
    this.#node.services.pubsub.publish(MEMBERSHIP_TOPIC, data).catch((err: unknown) => {
      this.stats.drop('publish');
      this.#log?.debug({ err }, 'gossip publish failed');
    });
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
          : this.#peerIdOf(key);
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
      this.stats.drop('dial');
      this.#log?.debug({ err, peer: key }, 'could not open a mesh stream');
      ch.queue.length = 0;
      if (to !== '' && refused(err)) this.#sink?.unreachable?.(to);
    } finally {
      delete ch.opening;
    }
  }

  #peerIdOf(peer: string): PeerId | undefined {
    for (const c of this.#node.getConnections()) if (c.remotePeer.toString() === peer) return c.remotePeer;
    return undefined;
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
      this.stats.bytesIn += chunk.length;
      let frames: Uint8Array[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.stats.drop(err instanceof MeshCodecError ? err.code : 'framing');
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
      this.stats.drop('encode');
      this.#log?.warn({ err, type: msg.type }, 'mesh message not sent: it breaks a codec limit');
      return;
    }
    const frame = lengthPrefixed(encoded);
    this.stats.sentBytes(msg.type, encoded.length);
    try {
      stream.send(frame);
      this.stats.framesOut++;
      this.stats.bytesOut += frame.length;
    } catch (err) {
      this.stats.drop('write');
      this.#log?.debug({ err }, 'mesh stream write failed');
    }
  }

  #onFrame(peer: string, frame: Uint8Array): void {
    this.stats.framesIn++;
    let msg: Message;
    let version: CodecVersion;
    try {
      ({ msg, version } = decodeFrame(frame));
    } catch (err) {
      this.stats.drop(err instanceof MeshCodecError ? err.code : 'decode');
      return;
    }
    this.stats.receivedBytes(msg.type, frame.length);
    if (msg.type === 'gossip' || msg.type === 'claims') {
      this.stats.drop('gossip-on-stream');
      return;
    }
    this.#deliver(peer, msg, version);
  }

  #onGossip(m: PubsubMessage): void {
    if (m.topic !== MEMBERSHIP_TOPIC) return;
    if (m.type !== 'signed') {
      this.stats.drop('unsigned');
      return;
    }
    this.stats.gossipIn++;
    let msg: Message;
    let version: CodecVersion;
    try {
      ({ msg, version } = decodeFrame(m.data));
    } catch (err) {
      this.stats.drop(err instanceof MeshCodecError ? err.code : 'decode');
      return;
    }
    this.stats.receivedBytes(msg.type, m.data.length);
    if (msg.type !== 'gossip' && msg.type !== 'claims') {
      this.stats.drop('direct-on-topic');
      return;
    }
    this.#deliver(m.from.toString(), msg, version);
  }

  #deliver(peer: string, msg: Message, version: CodecVersion): void {
    if (this.#authority !== undefined && !this.#authority.maySpeakFor(peer, msg.from)) {
      this.stats.drop('unauthorised');
      return;
    }
    const before = this.#peerOfNode.get(msg.from);
    if (before !== undefined && before !== peer) {
      // A new process for that node (a new peer ID, authenticated): its datagrams
      // start afresh, in whichever format it speaks (a rollback sends version 1).
      this.#replay.delete(msg.from);
      this.#legacy.delete(msg.from);
      this.#signed.delete(msg.from);
      this.#versions.forget(msg.from);
    }
    // A process of a release before bound datagrams joins (a rollback keeping the identity).
    if (msg.type === 'push-pull' && msg.join && (msg.protocol ?? 1) < 2) this.#signed.delete(msg.from);
    this.#versions.heard(msg.from, version, msg);
    this.#peerOfNode.set(msg.from, peer);
    this.#nodeOfPeer.set(peer, msg.from);
    // It speaks (directly: gossip may be relayed long after it was sent): no longer knocked out.
    if (msg.type !== 'gossip' && msg.type !== 'claims') this.#knocks.delete(msg.from);
    this.#sink?.handle(msg);
  }

  #onConnectionClose(connection: Connection): void {
    const peer = connection.remotePeer.toString();
    if (this.#node.getConnections(connection.remotePeer).length > 0) return;
    // Its streams died with it: the next send must dial (and learn at once if
    // the peer refuses), not write into a stream whose close event is pending.
    const ch = this.#channels.get(peer);
    if (ch !== undefined) delete ch.stream;
    const node = this.#nodeOfPeer.get(peer);
    // A connection of a process the member has since replaced (a restart
    // with a new identity) says nothing about the one running now.
    if (node === undefined || this.#peerOfNode.get(node) !== peer) return;
    this.#sink?.hint(node);
    // After the probes' work, not before: a killed process's sockets close in
    // reverse order of their descriptors (the kernel's deferred fput is LIFO),
    // its connections before its listener, and a knock sent at once could
    // still be accepted by the listener about to close.
    this.#knock(node);
  }

  /** After a member's last connection closed: is its process gone? (knock.ts) */
  #knock(node: string): void {
    const endpoint = this.#endpointOfNode.get(node);
    const at = endpoint === undefined ? undefined : tcpAddressOf(endpoint.addrs);
    if (at === undefined) return;
    this.#knocks.set(node, 'knocking');
    knock(at, (wasRefused) => {
      if (this.#knocks.get(node) !== 'knocking') return; // it spoke meanwhile
      if (!wasRefused) {
        this.#knocks.delete(node);
        return;
      }
      this.#knocks.set(node, Date.now());
      if (!this.#started) return;
      this.stats.knocksRefused++;
      this.#log?.debug({ member: node }, 'mesh: knock refused: nothing listens on its mesh port');
      this.#sink?.unreachable?.(node);
    });
  }

  /** A knock on `node` is out, or was refused under REFUSED_QUIET_MS ago. */
  #knockedOut(node: string): boolean {
    const k = this.#knocks.get(node);
    if (k === undefined) return false;
    if (k === 'knocking' || Date.now() - k < REFUSED_QUIET_MS) return true;
    this.#knocks.delete(node);
    return false;
  }
}
