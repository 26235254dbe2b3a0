/**
 * What Membership is built from (MembershipInit), and what the protocol's
 * parts (probes, checks, updates, sync, heal) share: who we are, the settings,
 * time and chance, the counters, our own health, and the lower parts they all
 * use (the member table, the timers, the outbox, what waits for an answer).
 * Membership builds it once and hands it to each.
 */
import type { Clock } from '../../clock/index.ts';
import type { Awareness } from '../awareness.ts';
import type { ClaimStore } from '../claims.ts';
import type { MeshConfig } from '../config.ts';
import type { Endpoint } from '../messages.ts';
import type { MembershipStats } from '../stats.ts';
import type { MeshTransport, PeerAuthority } from '../transport.ts';
import type { MemberTable } from './member-table.ts';
import type { Outbox } from './outbox.ts';
import type { PendingTable } from './pending.ts';
import type { MeshTimers } from './timers.ts';

export interface MembershipInit {
  /** This member's node name and how others reach it. */
  node: string;
  endpoint?: Endpoint;
  clock: Clock;
  transport: MeshTransport;
  config?: Partial<MeshConfig>;
  /** Random source in [0, 1): inject a seeded one for reproducible runs. */
  random?: () => number;
  /** Checks the peer ID in alive updates; without it, endpoints are not checked. */
  authority?: PeerAuthority;
  /**
   * Starting incarnation. Defaults to wall-clock milliseconds, so a restarted
   * member comes back with a higher incarnation than it died with (and if it
   * refuted faster than once a millisecond, it refutes again on hearing so).
   * Seconds were too coarse: a member killed and restarted within the same
   * second came back at its dead life's incarnation, where `dead` wins; its
   * seed never took its new endpoint and answered its push-pulls at the old
   * one, and it stayed unsynced (test/mesh/election-failover, 2 runs in 15).
   * A varint carries 2^53, so milliseconds cost 2 bytes more per update.
   */
  incarnation?: number;
  /**
   * The announcement claims this member knows: read for push-pull, given what
   * gossip and push-pull bring. Without it, claims received are dropped and
   * push-pulls carry none.
   */
  claims?: ClaimStore;
  /**
   * Called with what a periodic tick (probe round, push-pull, reconnect and
   * reap) threw, the loop going on (stats.loopErrors), or what the transport
   * threw on a send, the message counted as lost (stats.sendErrors).
   */
  onError?: (err: unknown, where: 'tick' | 'send') => void;
}

export interface SwimContext {
  readonly node: string;
  readonly config: MeshConfig;
  readonly clock: Clock;
  readonly random: () => number;
  readonly stats: MembershipStats;
  readonly awareness: Awareness;
  readonly table: MemberTable;
  readonly timers: MeshTimers;
  readonly outbox: Outbox;
  readonly pending: PendingTable;
}

/** Answers travel the way their question came: a datagram answers a datagram, the stream a stream copy. */
export const answerWay = (urgent: boolean): 'datagram' | 'stream' => (urgent ? 'datagram' : 'stream');
