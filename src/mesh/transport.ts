import type { BroadcastMessage, DirectMessage, Endpoint } from './messages.ts';

/**
 * What the membership core needs from a network. Fire-and-forget: loss, delay
 * and reordering are the core's problem (it has timeouts for everything).
 * Implemented by the libp2p adapter (libp2p/) and by the simulator (sim/).
 */
/**
 * How a direct message travels, for a transport that has a datagram path
 * beside its streams (one without it always uses the stream):
 * - `stream`: the stream only (push-pull, anything large);
 * - `both`: a datagram and the stream copy (probes, ping-reqs, confirming
 *   checks: no stalled stream delays the datagram, and the stream copy's dial
 *   notices a refusal);
 * - `datagram`: the datagram only, the stream if there is no datagram path
 *   (answers to datagrams; a check's first ping while the datagram path is
 *   known to work; pings to members believed dead: a dial would hang in the
 *   partition that made them dead).
 */
export type SendPath = 'stream' | 'both' | 'datagram';

export interface MeshTransport {
  /**
   * Sends a direct message to member `to`, reachable at `endpoint` (from its
   * latest alive update; undefined for seeds known only by address).
   */
  send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage, path?: SendPath): void;
  /** Disseminates membership updates or claims to every member (gossipsub in production). */
  broadcast(msg: BroadcastMessage): void;
  /**
   * A member believed dead answered us: drop any connection to it left from
   * before, so what follows (the push-pull) goes on a fresh one. After a
   * partition of a few seconds the old TCP connection's retransmission timer
   * has backed off to a second or more, and everything written to it would
   * wait for that.
   */
  revive?(to: string, endpoint: Endpoint | undefined): void;
  /** Member `node` was reaped (dead or left for reapAfterMs): drop what is kept for it. */
  forget?(node: string): void;
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
