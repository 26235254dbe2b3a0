/**
 * MeshTransport over libp2p: the wiring of its parts (streams.ts, gossip.ts,
 * datagram-path.ts, knock-table.ts) and what they share: who each member's
 * peer is, which codec version it reads, and the one check every inbound
 * message passes before the core sees it.
 */
import type { Connection, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from 'pino';
import { BoundedMap } from '../bounded-map.ts';
import type { CodecVersion } from '../codec.ts';
import type { BroadcastMessage, DirectMessage, Endpoint, Message } from '../messages.ts';
import type { MeshTransport, PeerAuthority, SendPath } from '../transport.ts';
import { DatagramPath, type DatagramOptions } from './datagram-path.ts';
import { GossipTopic } from './gossip.ts';
import { KnockTable } from './knock-table.ts';
import type { KnockOutcome } from './knock.ts';
import type { MeshNode } from './node.ts';
import { StreamChannels } from './streams.ts';
import { TransportStats } from './transport-stats.ts';
import { PeerVersions } from './versions.ts';

/**
 * Node names remembered per table (peer IDs, datagram addresses, endpoints,
 * knocks). Far above any mesh meshlb runs (the simulator's largest is 1,000
 * members); what a keyed sender inventing names can make it hold (~1 MB).
 * Reaped members are forgotten at once (forget).
 */
export const MAX_TRACKED_NODES = 4_096;

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
  /** Node name → peer ID, learnt from authenticated messages (replies to seeds need it). */
  readonly #peerOfNode = new BoundedMap<string, string>(MAX_TRACKED_NODES);
  readonly #nodeOfPeer = new BoundedMap<string, string>(MAX_TRACKED_NODES);
  /** Which codec version each member reads (datagrams and gossip; streams negotiate their own). */
  readonly #versions = new PeerVersions(MAX_TRACKED_NODES);
  readonly #knocks = new KnockTable(MAX_TRACKED_NODES, (node) => {
    this.#onKnockRefused(node);
  });
  readonly #streams: StreamChannels;
  readonly #gossip: GossipTopic;
  readonly #datagram: DatagramPath | undefined;
  #sink: MeshSink | undefined;
  #started = false;

  constructor(opts: {
    node: MeshNode;
    authority?: PeerAuthority;
    log?: Logger;
    /** The datagram path for check traffic (see datagram.ts, datagram-path.ts); port 0 picks one. */
    datagram?: DatagramOptions;
  }) {
    this.#node = opts.node;
    this.#authority = opts.authority;
    this.#log = opts.log;
    const deliver = (peer: string, msg: Message, version: CodecVersion): void => {
      this.#deliver(peer, msg, version);
    };
    const parts = { node: opts.node, stats: this.stats, log: opts.log, deliver };
    this.#streams = new StreamChannels({
      ...parts,
      refused: (node) => {
        this.#sink?.unreachable?.(node);
      },
    });
    this.#gossip = new GossipTopic({ ...parts, version: () => this.#versions.broadcast() });
    if (opts.datagram !== undefined) {
      this.#datagram = new DatagramPath({
        datagram: opts.datagram,
        self: opts.node.peerId.toString(),
        peers: {
          versionTo: (node) => this.#versions.to(node),
          peerOf: (node) => this.#peerOfNode.get(node),
          known: (peer) => this.#nodeOfPeer.has(peer),
        },
        max: MAX_TRACKED_NODES,
        stats: this.stats,
        log: opts.log,
        authority: opts.authority,
        deliver: (msg, version) => {
          this.#versions.heard(msg.from, version, msg);
          this.#knocks.spoke(msg.from);
          this.#sink?.handle(msg, { urgent: true });
        },
      });
    }
  }

  /** This node's endpoint, to announce in alive updates (call listen() first for the datagram address). */
  get endpoint(): Endpoint {
    const addrs = this.#node.getMultiaddrs().map((a) => a.toString());
    const udp = this.#datagram?.address;
    if (udp !== undefined) {
      addrs.push(`/${udp.address.includes(':') ? 'ip6' : 'ip4'}/${udp.address}/udp/${udp.port}`);
    }
    return { peerId: this.#node.peerId.toString(), addrs };
  }

  /** Knocks on `node`'s mesh port: is its host up (knock-table.ts probe)? */
  probeHost(node: string, timeoutMs: number, done: (outcome: KnockOutcome) => void): void {
    this.#knocks.probe(node, timeoutMs, done);
  }

  /** What the pulse needs of `node` (datagram-path.ts); undefined without a datagram path. */
  pulsePeer(node: string, endpoint: Endpoint | undefined): { address?: string; key?: Uint8Array } {
    const d = this.#datagram;
    if (d === undefined) return {};
    const address = d.addressOf(node, endpoint);
    const key = d.pulseKeyOf(node, endpoint);
    return { ...(address === undefined ? {} : { address }), ...(key === undefined ? {} : { key }) };
  }

  /** Binds the datagram path (if any); idempotent. */
  async listen(): Promise<void> {
    if (this.#datagram !== undefined) await this.#datagram.start();
  }

  async start(sink: MeshSink): Promise<void> {
    if (this.#started) return;
    await this.listen();
    this.#started = true;
    this.#sink = sink;
    await this.#streams.start();
    this.#gossip.start();
    this.#node.addEventListener('connection:close', this.#closeListener);
  }

  readonly #closeListener = (evt: CustomEvent<Connection>): void => {
    this.#onConnectionClose(evt.detail);
  };

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#gossip.stop();
    this.#node.removeEventListener('connection:close', this.#closeListener);
    this.#datagram?.stop();
    await this.#streams.stop();
  }

  send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage, path: SendPath = 'stream'): void {
    if (!this.#started) return;
    if (endpoint !== undefined && endpoint.peerId !== '') this.#knocks.sentTo(to, endpoint);
    // Probes and checks go as a datagram (no head-of-line blocking), with a
    // stream copy unless the path is 'datagram' (see SendPath). The receiver
    // answers each copy the way it came; the second answer is dropped
    // (counted as a duplicate). Checks send several pings with one seq: each is answered.
    // While a knock is out or was refused, the datagram is all: a libp2p dial
    // to a crashed member costs every survivor CPU at the moment the heirs
    // need it (at N = 8, several failed dials each in the first 100 ms).
    const sent = path !== 'stream' && this.#datagram !== undefined && this.#datagram.send(to, endpoint, msg);
    if (sent && (path === 'datagram' || this.#knocks.knockedOut(to))) return;
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
    this.#streams.send(to, peer, endpoint, msg);
  }

  revive(to: string, endpoint: Endpoint | undefined): void {
    if (!this.#started) return;
    const peer = this.#peerOfNode.get(to) ?? (endpoint?.peerId === '' ? undefined : endpoint?.peerId);
    if (peer === undefined) return;
    const id = this.#streams.peerIdOf(peer);
    if (id === undefined) return; // no connection: the next send dials a fresh one anyway
    const connections = this.#node.getConnections(id);
    // Abort, not close: a graceful close would wait on the stalled connection.
    // Frames sent from now on queue on a new channel until the fresh dial opens.
    this.#streams.renew(peer);
    this.stats.revived++;
    for (const c of connections) c.abort(new Error('mesh: member answered after being declared dead'));
  }

  /**
   * Member `node` was reaped: its addresses, peer ID, knock and stream go.
   * Its replay window stays (datagram-path.ts).
   */
  forget(node: string): void {
    const peer = this.#peerOfNode.get(node);
    this.#peerOfNode.delete(node);
    this.#datagram?.forget(node);
    this.#knocks.forget(node);
    this.#versions.forget(node);
    if (peer === undefined || this.#nodeOfPeer.get(peer) !== node) return;
    this.#nodeOfPeer.delete(peer);
    this.#streams.close(peer, 'mesh: member reaped');
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
    const datagram = this.#datagram?.tracked();
    return {
      signed: datagram?.signed ?? 0,
      peers: this.#peerOfNode.size,
      udp: datagram?.udp ?? 0,
      endpoints: this.#knocks.endpoints,
      knocks: this.#knocks.knocks,
      channels: this.#streams.size,
    };
  }

  broadcast(msg: BroadcastMessage): void {
    if (!this.#started) return;
    this.#gossip.publish(msg);
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
      this.#datagram?.restart(msg.from);
      this.#versions.forget(msg.from);
    }
    // A process of a release before bound datagrams joins (a rollback keeping the identity).
    if (msg.type === 'push-pull' && msg.join && (msg.protocol ?? 1) < 2) this.#datagram?.unbind(msg.from);
    this.#versions.heard(msg.from, version, msg);
    this.#peerOfNode.set(msg.from, peer);
    this.#nodeOfPeer.set(peer, msg.from);
    // It speaks (directly: gossip may be relayed long after it was sent): no longer knocked out.
    if (msg.type !== 'gossip' && msg.type !== 'claims') this.#knocks.spoke(msg.from);
    this.#sink?.handle(msg);
  }

  #onConnectionClose(connection: Connection): void {
    const peer = connection.remotePeer.toString();
    if (this.#node.getConnections(connection.remotePeer).length > 0) return;
    // Its streams died with it: the next send must dial (and learn at once if
    // the peer refuses), not write into a stream whose close event is pending.
    this.#streams.detach(peer);
    const node = this.#nodeOfPeer.get(peer);
    // A connection of a process the member has since replaced (a restart
    // with a new identity) says nothing about the one running now.
    if (node === undefined || this.#peerOfNode.get(node) !== peer) return;
    this.#sink?.hint(node);
    // After the probes' work, not before: a killed process's sockets close in
    // reverse order of their descriptors (the kernel's deferred fput is LIFO),
    // its connections before its listener, and a knock sent at once could
    // still be accepted by the listener about to close.
    this.#knocks.knock(node);
  }

  /** A knock on `node` was refused (knock-table.ts): nothing listens on its mesh port. */
  #onKnockRefused(node: string): void {
    if (!this.#started) return;
    this.stats.knocksRefused++;
    this.#log?.debug({ member: node }, 'mesh: knock refused: nothing listens on its mesh port');
    this.#sink?.unreachable?.(node);
  }
}
