import type { BroadcastMessage, DirectMessage, Endpoint } from './messages.ts';

/**
 * What the membership core needs from a network. Fire-and-forget: loss, delay
 * and reordering are the core's problem (it has timeouts for everything).
 * Implemented by the libp2p adapter (libp2p/) and by the simulator (sim/).
 */
export interface MeshTransport {
  /**
   * Sends a direct message to member `to`, reachable at `endpoint` (from its
   * latest alive update; undefined for seeds known only by address).
   * `urgent` marks check traffic (the fast failover path): a transport that
   * has a datagram path uses it, so no stalled stream can delay it.
   */
  send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage, urgent?: boolean): void;
  /** Disseminates membership updates or claims to every member (gossipsub in production). */
  broadcast(msg: BroadcastMessage): void;
}

/**
 * Decides whether libp2p peer `peerId` may speak for node `node`. The static
 * map is for tests; the Kubernetes-backed one reads the peer ID each speaker
 * publishes on its own Pod.
 */
export interface PeerAuthority {
  maySpeakFor(peerId: string, node: string): boolean;
}

/** A fixed node → peer ID map. */
export class StaticPeerAuthority implements PeerAuthority {
  readonly #byNode: ReadonlyMap<string, string>;

  constructor(byNode: Iterable<readonly [node: string, peerId: string]>) {
    this.#byNode = new Map(byNode);
  }

  maySpeakFor(peerId: string, node: string): boolean {
    return this.#byNode.get(node) === peerId;
  }
}
