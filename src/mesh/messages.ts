/**
 * The mesh protocol's messages, as the pure core sees them (decoded). The codec
 * (codec.ts) turns them into bytes for libp2p streams and gossipsub; the
 * simulator passes them as objects and counts their encoded size.
 *
 * Node names are Kubernetes Node names. Every message names its sender
 * (`from`); the adapter checks, through a PeerAuthority, that the libp2p peer
 * it arrived from may speak for that node, before the core ever sees it.
 */

/** Member states. `left` is a graceful leave; `dead` is a failure verdict. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** How to reach a member: its libp2p peer ID and multiaddrs. */
export interface Endpoint {
  /** Empty for a seed known only by address (the handshake reveals its peer ID). */
  peerId: string;
  addrs: readonly string[];
}

/**
 * A membership change, disseminated by gossip (gossipsub) and piggybacked on
 * probe traffic. Precedence rules (memberlist's): see rules.ts.
 * - alive: only the member itself may originate it (`from === node`);
 * - suspect / dead: originated by the accuser (`from`), about `node`;
 * - left: only the member itself, on graceful shutdown.
 */
export interface Update {
  kind: MemberState;
  node: string;
  incarnation: number;
  from: string;
  /** Present on alive updates: where the member can be reached. */
  endpoint?: Endpoint;
}

/** Direct probe. `seq` is unique per sender; piggyback carries recent updates. */
export interface Ping {
  type: 'ping';
  seq: number;
  from: string;
  /** The node the sender believes it is probing (a mismatch is dropped). */
  target: string;
  piggyback: readonly Update[];
}

export interface Ack {
  type: 'ack';
  seq: number;
  from: string;
  piggyback: readonly Update[];
}

/** Ask `from`'s helper to probe `target` and forward the ack (or a nack). */
export interface PingReq {
  type: 'ping-req';
  seq: number;
  from: string;
  target: string;
}

/** Lifeguard: a helper reached by ping-req says the target did not answer it. */
export interface Nack {
  type: 'nack';
  seq: number;
  from: string;
}

/** A gossip envelope carrying one or more updates (sent on the gossipsub topic). */
export interface Gossip {
  type: 'gossip';
  from: string;
  updates: readonly Update[];
}

/**
 * "`node` announces `ip` at `epoch`": the election's Claim (src/election/claims.ts),
 * as the mesh carries it. The mesh does not interpret claims; a ClaimStore
 * (claims.ts) merges them with the election's total order.
 */
export interface MeshClaim {
  /** The service IP as text (at most 45 bytes: the longest IPv6 text form). */
  ip: string;
  node: string;
  /** Rises by one per change of announcer. */
  epoch: number;
}

/**
 * A member's own claims, sent on the gossipsub topic when they change.
 * Receivers drop (and count, `claim-not-own`) any claim whose `node` is not
 * `from`: by gossip, only a node announces its own claims.
 */
export interface Claims {
  type: 'claims';
  from: string;
  claims: readonly MeshClaim[];
}

/** One member's full state, exchanged in push-pull sync. */
export interface MemberSnapshot {
  node: string;
  state: MemberState;
  incarnation: number;
  endpoint?: Endpoint;
}

/**
 * Push-pull state sync: the sender's whole view. `join` marks the first sync of
 * a joining member (the receiver answers with its own view, `reply: true`).
 * `claims` is every claim the sender knows, its own and relayed (may be empty):
 * a joiner learns the standing claims from its first reply, and the two sides
 * of a healed partition exchange theirs.
 */
export interface PushPull {
  type: 'push-pull';
  from: string;
  join: boolean;
  reply: boolean;
  members: readonly MemberSnapshot[];
  claims: readonly MeshClaim[];
  /**
   * The highest frame version the sender reads (codec.ts); set by the codec
   * when it decodes a version 2 frame, undefined from a version 1 sender.
   * The codec writes its own on every version 2 push-pull.
   */
  protocol?: number;
}

/**
 * Messages sent on direct streams (`/meshlb/swim/2.0.0`, or `1.0.0` to an older
 * speaker). Claims go on the gossip topic, and also directly to the members that
 * must not miss them (Membership.publishClaims: `alsoTo`); a speaker of an older
 * release drops the direct copy (counted as gossip-on-stream) and keeps the gossip.
 */
export type DirectMessage = Ping | Ack | PingReq | Nack | PushPull | Claims;

/** Messages sent on the gossipsub topic (`meshlb/membership/1`). */
export type BroadcastMessage = Gossip | Claims;

/** Any mesh message. */
export type Message = DirectMessage | BroadcastMessage;

export type MessageType = Message['type'];
