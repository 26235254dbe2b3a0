/**
 * The transport's side of the datagram path for check traffic (datagram.ts
 * has the packets and the socket): where each member's datagrams go, in which
 * format, and which of its datagrams get through: a direct message, from a
 * peer that may speak for the node it names, neither a downgrade nor a replay.
 */
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from 'pino';
import type { Startable } from '../../clock/lifecycle.ts';
import { BoundedMap } from '../bounded-map.ts';
import { encode, type CodecVersion } from '../codec.ts';
import type { DirectMessage, Endpoint, Message } from '../messages.ts';
import type { PeerAuthority } from '../transport.ts';
import { DatagramChannel, udpAddressOf, type Opened, type UdpAddress } from './datagram.ts';
import { PairKeys } from './pair-keys.ts';
import { ReplayWindow, type Stamp } from './replay.ts';
import { decodeCounted, type TransportStats } from './transport-stats.ts';

/**
 * Where the datagram path binds (port 0 picks one), and its keys.
 * `privateKey`: this node's peer key (Ed25519), for datagrams bound to
 * their sender (version 3); without it, only the mesh key's tag.
 */
export interface DatagramOptions {
  host: string;
  port: number;
  networkKey: Uint8Array;
  privateKey?: PrivateKey;
}

/** What the path needs to know of the peers the transport has heard on authenticated streams and gossip. */
export interface PeerLookup {
  /** The codec version `node` reads. */
  versionTo(node: string): CodecVersion;
  /** The peer ID `node` was last heard from. */
  peerOf(node: string): string | undefined;
  /** Whether `peer` was heard from (only such peers' version 3 datagrams are opened). */
  known(peer: string): boolean;
}

export class DatagramPath implements Startable {
  readonly #channel: DatagramChannel;
  readonly #peers: PeerLookup;
  readonly #pairKeys: PairKeys | undefined;
  readonly #stats: TransportStats;
  readonly #log: Logger | undefined;
  readonly #authority: PeerAuthority | undefined;
  readonly #deliver: (msg: Message, version: CodecVersion) => void;
  /** Node name → UDP address of its datagram path, learnt from endpoints and datagrams. */
  readonly #udpOfNode: BoundedMap<string, UdpAddress>;
  /** Node name → what its stamped datagrams have been (replay protection). */
  readonly #replay: BoundedMap<string, ReplayWindow>;
  /** Nodes that send unstamped (version 1) datagrams: they get version 1 back. */
  readonly #legacy: BoundedMap<string, true>;
  /** Nodes that send datagrams bound to their peer key (version 3): unbound ones from them are dropped. */
  readonly #signed: BoundedMap<string, true>;
  #udp: UdpAddress | undefined;

  /**
   * `self`: this node's peer ID; `max`: nodes remembered per table;
   * `deliver`: a datagram that got through, and the codec version it came in.
   */
  constructor(opts: {
    datagram: DatagramOptions;
    self: string;
    peers: PeerLookup;
    max: number;
    stats: TransportStats;
    log?: Logger | undefined;
    authority?: PeerAuthority | undefined;
    deliver: (msg: Message, version: CodecVersion) => void;
  }) {
    const d = opts.datagram;
    const self = opts.self;
    const pairs =
      d.privateKey?.type === 'Ed25519'
        ? {
            keys: new PairKeys(d.privateKey, self, d.networkKey),
            self,
            known: (peer: string) => opts.peers.known(peer),
          }
        : undefined;
    this.#channel = new DatagramChannel({ ...d, ...(pairs === undefined ? {} : { pairs }) });
    this.#pairKeys = pairs?.keys;
    this.#peers = opts.peers;
    this.#stats = opts.stats;
    this.#log = opts.log;
    this.#authority = opts.authority;
    this.#deliver = opts.deliver;
    this.#udpOfNode = new BoundedMap<string, UdpAddress>(opts.max);
    this.#replay = new BoundedMap<string, ReplayWindow>(opts.max);
    this.#legacy = new BoundedMap<string, true>(opts.max);
    this.#signed = new BoundedMap<string, true>(opts.max);
  }

  /** The bound address (undefined before start and after stop). */
  get address(): UdpAddress | undefined {
    return this.#udp;
  }

  /** Binds; idempotent. */
  async start(): Promise<void> {
    if (this.#udp !== undefined) return;
    this.#udp = await this.#channel.start(
      (opened, from) => {
        this.#onDatagram(opened, from);
      },
      (reason) => {
        this.#stats.drop(reason);
      },
    );
  }

  stop(): void {
    this.#channel.stop();
    this.#udp = undefined;
  }

  /** `node`'s datagram address: where its pulse is too (on the cluster's pulse port). */
  addressOf(node: string, endpoint: Endpoint | undefined): string | undefined {
    return (this.#udpOfNode.get(node) ?? (endpoint === undefined ? undefined : udpAddressOf(endpoint.addrs)))
      ?.address;
  }

  /** The pulse key of this node and `node` (pair-keys.ts); undefined while its peer ID is unknown. */
  pulseKeyOf(node: string, endpoint: Endpoint | undefined): Uint8Array | undefined {
    const peer = this.#peers.peerOf(node) ?? (endpoint?.peerId === '' ? undefined : endpoint?.peerId);
    return peer === undefined ? undefined : this.#pairKeys?.pulseKeyFor(peer);
  }

  /** True when the datagram went out (false: no address, or too large). */
  send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage): boolean {
    const udp =
      (endpoint === undefined ? undefined : udpAddressOf(endpoint.addrs)) ?? this.#udpOfNode.get(to);
    if (udp === undefined) return false;
    try {
      const version = this.#peers.versionTo(to);
      const encoded = encode(msg, version);
      // Bound to this sender (version 3) for a member that reads frame format 2
      // (the release that reads version 3 datagrams); the mesh key's tag for older ones.
      const peer = version >= 2 ? (this.#peers.peerOf(to) ?? endpoint?.peerId) : undefined;
      const sent = this.#channel.send(udp, encoded, {
        legacy: this.#legacy.has(to),
        peer: peer === '' ? undefined : peer,
      });
      if (sent) {
        this.#stats.datagramsOut++;
        this.#stats.sentBytes(msg.type, encoded.length);
        return true;
      }
    } catch (err) {
      this.#stats.drop('datagram-send');
      this.#log?.debug({ err, to }, 'check datagram not sent');
    }
    return false;
  }

  /** A new process for `node` (a new peer ID, authenticated): its datagrams start afresh, in whichever format it speaks. */
  restart(node: string): void {
    this.#replay.delete(node);
    this.#legacy.delete(node);
    this.#signed.delete(node);
  }

  /** `node` may send unbound datagrams again (a process of a release before bound datagrams joined). */
  unbind(node: string): void {
    this.#signed.delete(node);
  }

  /**
   * Member `node` was reaped: its address goes. Its replay window stays
   * (bounded with the others): forgetting it would let captures of the dead
   * member's datagrams pass again.
   */
  forget(node: string): void {
    this.#udpOfNode.delete(node);
    this.#signed.delete(node);
  }

  /** Nodes whose UDP address is known, and nodes that send bound datagrams (tests: they stay bounded). */
  tracked(): { udp: number; signed: number } {
    return { udp: this.#udpOfNode.size, signed: this.#signed.size };
  }

  #onDatagram(opened: Opened, from: UdpAddress): void {
    const { frame, stamp, sender } = opened;
    this.#stats.datagramsIn++;
    const decoded = decodeCounted(frame, this.#stats);
    if (decoded === undefined) return;
    const { msg, version } = decoded;
    if (msg.type === 'gossip' || msg.type === 'claims' || msg.type === 'push-pull') {
      this.#stats.drop('datagram-type');
      return;
    }
    if (sender !== undefined) {
      // Bound to its sender's peer key: that peer must be the node's, as on a stream.
      if (this.#authority !== undefined && !this.#authority.maySpeakFor(sender, msg.from)) {
        this.#stats.drop('unauthorised');
        return;
      }
      this.#signed.set(msg.from, true);
    } else if (this.#signed.has(msg.from)) {
      // It sends bound datagrams: an unbound one in its name is a forgery or a replay.
      this.#stats.drop('datagram-downgrade');
      return;
    }
    if (!this.#fresh(msg.from, stamp)) return;
    this.#udpOfNode.set(msg.from, from);
    this.#deliver(msg, version);
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
        this.#stats.drop('datagram-downgrade');
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
      this.#stats.drop('datagram-replay');
      return false;
    }
    this.#legacy.delete(node);
    return true;
  }
}
