/**
 * Everything this member sends, and what rides on it: direct messages through
 * the transport (a throw is a lost message, never a half-done step), gossip
 * broadcasts, and the piggyback queue (memberlist's TransmitLimitedQueue) whose
 * updates ride on every ping and ack.
 */
import { type MeshConfig, retransmitLimit } from '../config.ts';
import type { Claims, DirectMessage, Endpoint, Gossip, Ping, Update } from '../messages.ts';
import { PiggybackQueue } from '../piggyback.ts';
import type { MembershipStats } from '../stats.ts';
import type { MeshTransport, SendPath } from '../transport.ts';
import type { MemberTable } from './member-table.ts';

export interface OutboxInit {
  node: string;
  config: MeshConfig;
  transport: MeshTransport;
  table: MemberTable;
  stats: MembershipStats;
  /** Direct messages go out only while running (push-pulls always: leave and join use them). */
  running: () => boolean;
  onError?: ((err: unknown, where: 'tick' | 'send') => void) | undefined;
}

export class Outbox {
  readonly #init: OutboxInit;
  readonly #queue = new PiggybackQueue();

  constructor(init: OutboxInit) {
    this.#init = init;
  }

  /** Queues an update to ride on pings and acks. */
  piggyback(u: Update): void {
    this.#queue.push(u);
  }

  /**
   * `path` (see SendPath): probes and confirming checks go `both` ways, so a
   * stalled TCP connection cannot delay them; a first check while the datagram
   * path is trusted, answers to datagrams and pings to the dead as a datagram only.
   */
  send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage, path: SendPath = 'stream'): void {
    if (!this.#init.running() && msg.type !== 'push-pull') return;
    this.#init.stats.sent(msg.type);
    this.#transmit(() => {
      this.#init.transport.send(to, endpoint, msg, path);
    });
  }

  /** Sends to a known member (its endpoint from the table; undefined for one we do not know). */
  sendTo(to: string, msg: DirectMessage, path: SendPath = 'stream'): void {
    this.send(to, this.#init.table.get(to)?.endpoint, msg, path);
  }

  broadcast(updates: Update[]): void {
    const g: Gossip = { type: 'gossip', from: this.#init.node, updates };
    this.broadcastMessage(g);
  }

  broadcastMessage(msg: Gossip | Claims): void {
    this.#init.stats.sent(msg.type);
    this.#transmit(() => {
      this.#init.transport.broadcast(msg);
    });
  }

  /** A ping to `target`, with what to piggyback on it. */
  ping(seq: number, target: string): Ping {
    return { type: 'ping', seq, from: this.#init.node, target, piggyback: this.takePiggyback(target) };
  }

  /** Our own alive update, at our current incarnation. */
  aliveUpdate(): Update {
    const self = this.#init.table.self;
    const u: Update = { kind: 'alive', node: self.node, incarnation: self.incarnation, from: self.node };
    if (self.endpoint !== undefined) u.endpoint = self.endpoint;
    return u;
  }

  /**
   * Updates to piggyback on a message to `to`. If we suspect `to` or believe
   * it dead, that accusation goes first, every time: the piggyback queue
   * retransmits each update only a few times, and after a partition heals
   * those were spent on our own side; told directly, the accused refutes at
   * once (and its refutation rides back on its answer) instead of its
   * suspicion running out into a dead verdict.
   */
  takePiggyback(to?: string): Update[] {
    const { config, table, node } = this.#init;
    const r = to === undefined ? undefined : table.get(to);
    const accuse = r !== undefined && (r.state === 'suspect' || r.state === 'dead');
    const updates = this.#queue.take(
      config.maxPiggyback - (accuse ? 1 : 0),
      retransmitLimit(config, table.live),
    );
    if (!accuse || updates.some((u) => u.node === r.node && u.kind === r.state)) return updates;
    return [{ kind: r.state, node: r.node, incarnation: r.incarnation, from: node }, ...updates];
  }

  /**
   * A transport that throws is a lost message to the protocol, never a
   * half-done step: a probe whose ping threw would otherwise stay "in flight"
   * for good and its target never be probed again.
   */
  #transmit(send: () => void): void {
    try {
      send();
    } catch (err) {
      this.#init.stats.sendErrors++;
      this.#init.onError?.(err, 'send');
    }
  }
}
