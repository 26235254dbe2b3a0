/**
 * How partitions heal and the dead are forgotten: members believed dead are
 * pinged now and then (and all at once when one of them talks to us); an
 * answer starts a push-pull on a fresh connection. Dead and left members are
 * reaped after reapAfterMs.
 */
import type { MeshTransport } from '../transport.ts';
import type { SwimContext } from './context.ts';
import type { MemberRecord } from './member-table.ts';
import type { PendingReconnect } from './pending.ts';
import type { Sync } from './sync.ts';

/** Members believed dead that one sweep pings (sweepDead); answers trigger further sweeps. */
const MAX_SWEEP = 32;

export class Healer {
  readonly #cx: SwimContext;
  readonly #transport: MeshTransport;
  readonly #sync: Sync;
  /** Forget what other parts keep about a reaped member. */
  readonly #forget: (node: string) => void;
  /** When sweepDead last ran. */
  #lastSweep: number | undefined;

  constructor(cx: SwimContext, transport: MeshTransport, sync: Sync, forget: (node: string) => void) {
    this.#cx = cx;
    this.#transport = transport;
    this.#sync = sync;
    this.#forget = forget;
  }

  /** The periodic tick (every healPingIntervalMs): retry the join, reap, ping some of the dead. */
  tick(): void {
    const { clock, table, config, node } = this.#cx;
    const now = clock.now();
    this.#sync.retryJoin(now);
    for (const r of table.values()) {
      if (
        (r.state === 'dead' || r.state === 'left') &&
        r.node !== node &&
        now - r.since > config.reapAfterMs
      ) {
        table.delete(r.node);
        this.#forget(r.node);
        this.#transport.forget?.(r.node);
      }
    }
    // About MAX_SWEEP pings across the whole mesh per interval, however large:
    // every member believed dead in a small mesh (what makes a heal quick),
    // one each in a mesh of 32 or more (where N pingers are quick anyway).
    this.#pingDead(Math.ceil(MAX_SWEEP / table.size));
  }

  /**
   * A member we believed dead is alive (whoever told us): a partition has
   * probably healed. Reach it ourselves, as a reconnect does (its answer
   * starts a push-pull on a fresh connection: its claims, which only it
   * publishes, and gossipsub's mesh across the old split takes heartbeats to
   * mend), and sweep every member still believed dead. Measured at N = 8: a
   * member that heard of the other half only through gossip and piggyback
   * learnt the winner of its IP 650 ms after the heal, and kept announcing.
   */
  backFromDead(r: MemberRecord): void {
    if (!this.#cx.timers.running) return;
    const at = r.reconnectedAt;
    const justSynced = at !== undefined && this.#cx.clock.now() - at < this.#cx.config.reconnectIntervalMs;
    // (A reconnect's own push-pull is what usually brings the news: no second one.)
    if (!justSynced && !this.#cx.pending.reconnecting(r.node)) this.#reconnect(r);
    this.sweepDead();
  }

  /** A member believed dead answered our reconnect ping: sync with it on a fresh connection. */
  answered(p: PendingReconnect): void {
    const r = this.#cx.table.get(p.target);
    if (r === undefined) return;
    r.reconnectedAt = this.#cx.clock.now();
    this.#transport.revive?.(r.node, r.endpoint);
    this.#sync.pushPull(r.node, r.endpoint);
    this.sweepDead();
  }

  /**
   * A member we believed dead is talking to us: the partition that separated
   * us has probably healed, so ping every member we believe dead now (up to
   * MAX_SWEEP, at most once per probe interval) instead of at the next
   * healPingIntervalMs. Each answer starts its own push-pull; both sides
   * cascade, and a healed half | half split is one view again in a few round
   * trips instead of after several reconnect rounds.
   */
  sweepDead(): void {
    const now = this.#cx.clock.now();
    if (this.#lastSweep !== undefined && now - this.#lastSweep < this.#cx.config.probeIntervalMs) return;
    this.#lastSweep = now;
    this.#pingDead(MAX_SWEEP);
  }

  /** Pings up to `max` random members believed dead that no reconnect is waiting on. */
  #pingDead(max: number): void {
    const { table, pending } = this.#cx;
    for (const r of table.pick(max, (m) => m.state === 'dead' && !pending.reconnecting(m.node)))
      this.#reconnect(r);
  }

  #reconnect(dead: MemberRecord): void {
    const { pending, timers, config, outbox, node } = this.#cx;
    const seq = pending.nextSeq();
    const timer = timers.after(config.probeTimeoutMs, () => {
      pending.delete(seq);
    });
    pending.set(seq, { kind: 'reconnect', target: dead.node, timer });
    // A datagram only: a stream would dial, and a dial into the partition that
    // made it dead hangs (SYN retries at 1 s, 3 s) with the push-pull queued behind it.
    // Nothing piggybacked: pings into a partition would use up the updates'
    // retransmissions; the push-pull an answer starts carries everything.
    outbox.send(
      dead.node,
      dead.endpoint,
      { type: 'ping', seq, from: node, target: dead.node, piggyback: [] },
      'datagram',
    );
  }
}
