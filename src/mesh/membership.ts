import type { Clock } from '../clock/index.ts';
import { Awareness } from './awareness.ts';
import { claimsMessages, type SyncedListener } from './claims.ts';
import { LAN_FAST, type MeshConfig, pushPullInterval, validateMeshConfig } from './config.ts';
import type { MemberEventListener } from './events.ts';
import type { Endpoint, MemberSnapshot, MemberState, Message, MeshClaim, Update } from './messages.ts';
import { MembershipStats } from './stats.ts';
import { Checker, type CheckOptions } from './swim/checks.ts';
import type { MembershipInit, SwimContext } from './swim/context.ts';
import { Healer } from './swim/heal.ts';
import { type MemberRecord, MemberTable, type MemberView, view } from './swim/member-table.ts';
import { Outbox } from './swim/outbox.ts';
import { PendingTable } from './swim/pending.ts';
import { Prober } from './swim/probes.ts';
import { Sync } from './swim/sync.ts';
import { MeshTimers } from './swim/timers.ts';
import { UpdateRules } from './swim/updates.ts';

export type { CheckOptions } from './swim/checks.ts';
export type { MembershipInit } from './swim/context.ts';
export type { MemberView } from './swim/member-table.ts';

/**
 * The SWIM + Lifeguard membership state machine (pure core: no I/O of its own,
 * all time through the injected Clock, all bytes through the MeshTransport).
 *
 * - probes one member per round in shuffled round-robin order: direct ping,
 *   then ping-req through `indirectChecks` helpers, then suspicion;
 * - suspicion with Lifeguard's shrinking timeout; a suspected member refutes
 *   by raising its incarnation; on hearing a new suspicion, a few members
 *   probe the suspect at once so a real failure collects confirmations fast;
 * - local health (awareness) stretches our timers when our own probes fail
 *   without nacks or our event loop lags, and verdicts reached by a timer
 *   that fired late are postponed until queued messages have been read;
 * - changes go out on the gossip broadcast and piggyback on pings and acks;
 *   full-state push-pull on join, periodically, and to reconnect with members
 *   believed dead (how partitions heal).
 */
export class Membership {
  readonly node: string;
  readonly config: MeshConfig;
  readonly stats = new MembershipStats();
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #awareness: Awareness;
  readonly #table: MemberTable;
  readonly #timers: MeshTimers;
  readonly #pending = new PendingTable();
  readonly #outbox: Outbox;
  readonly #checker: Checker;
  readonly #prober: Prober;
  readonly #updates: UpdateRules;
  readonly #sync: Sync;
  readonly #healer: Healer;
  #left = false;

  constructor(init: MembershipInit) {
    this.node = init.node;
    this.config = validateMeshConfig({ ...LAN_FAST, ...init.config });
    this.#clock = init.clock;
    const random = init.random ?? Math.random;
    this.#random = random;
    this.#awareness = new Awareness(this.config.awarenessMax);
    const self: MemberRecord = {
      node: init.node,
      state: 'alive',
      incarnation: init.incarnation ?? Math.floor(init.clock.wallNow()),
      since: init.clock.now(),
    };
    if (init.endpoint !== undefined) self.endpoint = init.endpoint;
    this.#table = new MemberTable(self, random);
    this.#timers = new MeshTimers({
      clock: init.clock,
      random,
      lagToleranceMs: this.config.lagToleranceMs,
      onLag: () => {
        this.stats.lagEvents++;
        this.#awareness.apply(1);
      },
      onLoopError: (err) => {
        this.stats.loopErrors++;
        init.onError?.(err, 'tick');
      },
    });
    this.#outbox = new Outbox({
      node: init.node,
      config: this.config,
      transport: init.transport,
      table: this.#table,
      stats: this.stats,
      running: () => this.#timers.running,
      onError: init.onError,
    });
    const cx: SwimContext = {
      node: init.node,
      config: this.config,
      clock: init.clock,
      random,
      stats: this.stats,
      awareness: this.#awareness,
      table: this.#table,
      timers: this.#timers,
      outbox: this.#outbox,
      pending: this.#pending,
    };
    this.#checker = new Checker(cx);
    this.#updates = new UpdateRules(cx, init.authority, {
      probe: (node) => {
        this.#prober.probe(node);
      },
      backFromDead: (r) => {
        this.#healer.backFromDead(r);
      },
      refuted: () => {
        this.#sync.republishOwnClaims();
      },
      left: () => this.#left,
    });
    this.#prober = new Prober(cx, this.#checker, (node) => {
      this.#updates.accuse(node);
    });
    this.#sync = new Sync(cx, this.#updates, init.claims);
    this.#healer = new Healer(cx, init.transport, this.#sync, (node) => {
      this.#checker.forget(node);
      this.#sync.forget(node);
    });
  }

  // ---- lifecycle -----------------------------------------------------------

  start(): void {
    if (this.#timers.running) return;
    this.#timers.start();
    this.#left = false;
    this.#timers.loop(
      () => this.#awareness.scale(this.config.probeIntervalMs),
      () => {
        this.#prober.round();
      },
    );
    this.#timers.loop(
      () => pushPullInterval(this.config, this.#table.live) * (0.5 + this.#random()),
      () => {
        this.#sync.periodic();
      },
    );
    this.#timers.loop(
      () => this.config.healPingIntervalMs,
      () => {
        this.#healer.tick();
      },
    );
  }

  stop(): void {
    this.#timers.stop();
    this.#pending.clear();
    this.#prober.clear();
    this.#updates.stop();
  }

  /** How many entries its per-node tables hold (tests: they stay bounded). */
  tracked(): { members: number; asked: number; refused: number } {
    return { members: this.#table.size, asked: this.#sync.askedCount, refused: this.#checker.refusedCount };
  }

  /** Graceful leave: tells everyone, then stops probing. */
  leave(): void {
    const self = this.#table.self;
    this.#left = true;
    const u: Update = { kind: 'left', node: this.node, incarnation: self.incarnation, from: this.node };
    this.#table.setState(self, 'left');
    this.#outbox.broadcast([u]);
    this.stop();
  }

  /**
   * Contacts seeds (known only by endpoint) with a full-state push-pull. With
   * no seeds this member is the first of its cluster: it is synced at once.
   */
  join(seeds: readonly Endpoint[]): void {
    this.#sync.join(seeds);
  }

  /**
   * True once this member knows the standing claims: it received a push-pull
   * reply (from a seed it joined through, or any later sync), or it joined
   * with no seeds. Never false again. A speaker answers for no IP until then.
   */
  get synced(): boolean {
    return this.#sync.synced;
  }

  /**
   * Calls `listener` once, when `synced` turns true, after the claims that made
   * it so are merged (never, if it already is: read `synced` first). Returns an
   * unsubscribe, like onEvent.
   */
  onSynced(listener: SyncedListener): () => void {
    return this.#sync.onSynced(listener);
  }

  /**
   * Broadcasts this member's own claims (on change; the store is not told:
   * the caller keeps its own claims there). Split into messages of at most
   * MAX_GOSSIP_CLAIMS. Throws ForeignClaimError for a claim of another node
   * and MeshCodecError for one the codec cannot carry, before sending any.
   */
  publishClaims(claims: readonly MeshClaim[], opts: { alsoTo?: Iterable<string> } = {}): void {
    const msgs = claimsMessages(this.node, claims);
    if (this.#left) return;
    for (const m of msgs) this.#outbox.broadcastMessage(m);
    // Gossip reaches a member only once gossipsub knows its subscription: one
    // that joined a moment before (a cold start, a node back from a restart)
    // can miss a claim, and keep deciding on the claim it replaced (seen in
    // chaos: an old holder answering on after a rebalance, two heirs each
    // leaving an address to the other). So the members that act on a claim
    // (the holder it replaces, the heirs) get it directly as well; a holder that
    // left too (it answers on, for a hand-off, until its successor's claim comes).
    for (const to of new Set(opts.alsoTo)) {
      const state = this.#table.get(to)?.state;
      if (to === this.node || state === undefined || state === 'dead') continue;
      for (const m of msgs) this.#outbox.sendTo(to, m);
    }
  }

  /** Adds members as known-alive without any traffic (simulator and tests start from a converged view). */
  seed(members: readonly MemberSnapshot[]): void {
    for (const s of members) {
      if (s.node === this.node || this.#table.has(s.node)) continue;
      const rec: MemberRecord = {
        node: s.node,
        state: s.state,
        incarnation: s.incarnation,
        since: this.#clock.now(),
      };
      if (s.endpoint !== undefined) rec.endpoint = s.endpoint;
      this.#table.add(rec);
    }
  }

  onEvent(listener: MemberEventListener): () => void {
    return this.#updates.onEvent(listener);
  }

  // ---- views ---------------------------------------------------------------

  get incarnation(): number {
    return this.#table.self.incarnation;
  }

  get awareness(): number {
    return this.#awareness.score;
  }

  get(node: string): MemberView | undefined {
    const r = this.#table.get(node);
    return r === undefined ? undefined : view(r);
  }

  /** The state of one member, without building a view (cheap: for hot loops). */
  stateOf(node: string): MemberState | undefined {
    return this.#table.get(node)?.state;
  }

  /**
   * When `node` last sent us anything directly (a ping, an answer however
   * late, a push-pull; not gossip, which others relay after it was sent):
   * monotonic ms. A busy member still says something; a hung one nothing.
   */
  heardAt(node: string): number | undefined {
    return this.#table.get(node)?.heardAt;
  }

  members(): MemberView[] {
    return [...this.#table.values()].map(view);
  }

  /** Members alive or suspected (not dead, not left), this one included. */
  liveCount(): number {
    return this.#table.live;
  }

  // ---- input ---------------------------------------------------------------

  /**
   * A decoded message whose sender the adapter has authenticated (the libp2p
   * peer may speak for `msg.from`). Never throws on content.
   */
  handle(msg: Message, opts: { urgent?: boolean } = {}): void {
    const urgent = opts.urgent === true;
    if (this.#left) return;
    this.stats.received(msg.type);
    this.#checker.heardFrom(msg.from);
    const sender = this.#table.get(msg.from);
    if (sender !== undefined) {
      if (msg.type !== 'gossip' && msg.type !== 'claims') sender.heardAt = this.#clock.now();
      if (!urgent) sender.closed = false;
      else if (msg.type === 'ack') sender.datagramAckAt = this.#clock.now();
    }
    if (msg.type === 'ping' || msg.type === 'ping-req') this.#sync.learnFrom(msg.from);
    if (msg.type === 'ping' && this.#table.get(msg.from)?.state === 'dead') this.#healer.sweepDead();
    switch (msg.type) {
      case 'ping':
        this.#updates.applyAll(msg.piggyback, 'piggyback');
        this.#prober.onPing(msg, urgent);
        return;
      case 'ack':
        this.#updates.applyAll(msg.piggyback, 'piggyback');
        this.#onAck(msg.seq);
        return;
      case 'ping-req':
        this.#prober.onPingReq(msg, urgent);
        return;
      case 'nack': {
        const p = this.#pending.get(msg.seq);
        if (p?.kind === 'probe') p.nacks++;
        if (p?.kind === 'check') this.#checker.nacked(p, msg.from);
        return;
      }
      case 'push-pull':
        this.#sync.onPushPull(msg);
        return;
      case 'gossip':
        this.#updates.applyAll(msg.updates, 'gossip');
        return;
      case 'claims':
        this.#sync.onClaims(msg);
        return;
    }
  }

  /** A hint (a closed connection): probe this member now, out of turn. */
  hint(node: string): void {
    const r = this.#table.get(node);
    if (r !== undefined) r.closed = true;
    if (this.#timers.running) this.#prober.probe(node);
  }

  /**
   * Checks one member now, outside the probe rounds: `pings` direct pings,
   * then ping-req through `indirectChecks` helpers. `done(true)` on the first
   * ack, `done(false)` when both deadlines pass, or at once when every helper
   * nacked. `refused` tells that the transport was refused by the target
   * meanwhile (its host answered, its process is gone). Draws no conclusion
   * itself: the caller (FastWatch) does.
   */
  check(target: string, opts: CheckOptions, done: (ok: boolean, refused: boolean) => void): void {
    this.#checker.check(target, opts, done);
  }

  /** Raises a suspicion of `node` on our own evidence (FastWatch's verdict), or confirms one. */
  suspect(node: string): void {
    if (this.#timers.running) this.#updates.accuse(node);
  }

  /**
   * `node`'s host refused a connection (its process is gone; the transport
   * reports refusals only, never timeouts or unreachable routes): checks of
   * it skip to their indirect phase, and relays we do for others nack at once
   * instead of waiting out their timeout.
   *
   * After its connection closed, a refusal settles a check at once: the
   * kernel ended the connection and refuses new ones, two signs no loss or
   * load can fake, and the helpers would be asked while all of them handle
   * the same close (at N = 8 on 2 cores their nacks took 7–30 ms more).
   */
  unreachable(node: string): void {
    this.#checker.refusedBy(node);
    this.#prober.refusedBy(node);
  }

  /** An ack: settles what waited for it, whichever part that was. */
  #onAck(seq: number): void {
    const p = this.#pending.answer(seq);
    // The second copy of an answer (probes and confirming checks go both ways), or late
    // (after its timeout) or replayed: harmless, but counted apart, so that
    // `unknown-seq` rising still means something.
    if (typeof p === 'string') {
      this.stats.drop(p);
      return;
    }
    switch (p.kind) {
      case 'probe':
        this.#prober.acked(p);
        return;
      case 'relay':
        this.#prober.relayed(p);
        return;
      case 'check':
        this.#checker.settle(p, true);
        return;
      case 'reconnect':
        this.#healer.answered(p);
        return;
    }
  }
}
