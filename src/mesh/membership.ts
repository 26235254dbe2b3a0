import type { Clock, Timer } from '../clock/index.ts';
import { Awareness } from './awareness.ts';
import { BoundedMap } from './bounded-map.ts';
import { claimsMessages, type ClaimStore, type SyncedEvent, type SyncedListener } from './claims.ts';
import { MAX_CLAIMS } from './codec.ts';
import {
  LAN_FAST,
  type MeshConfig,
  pushPullInterval,
  retransmitLimit,
  suspicionBounds,
  validateMeshConfig,
} from './config.ts';
import type { MemberEvent, MemberEventListener, Via } from './events.ts';
import type {
  Ack,
  Claims,
  DirectMessage,
  Endpoint,
  Gossip,
  MemberSnapshot,
  MemberState,
  Message,
  MeshClaim,
  Nack,
  Ping,
  PingReq,
  PushPull,
  Update,
} from './messages.ts';
import { PiggybackQueue } from './piggyback.ts';
import { isConfirmation, originIsValid, supersedes } from './rules.ts';
import { MembershipStats } from './stats.ts';
import { Suspicion } from './suspicion.ts';
import type { MeshTransport, PeerAuthority, SendPath } from './transport.ts';

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
   * Starting incarnation. Defaults to wall-clock seconds, so a restarted
   * member comes back with a higher incarnation than it died with (and if it
   * refuted more often than once a second, it refutes again on hearing so).
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

/** One member as this member sees it. */
export interface MemberView {
  node: string;
  state: MemberState;
  incarnation: number;
  endpoint?: Endpoint;
  /** Monotonic time of the last state change. */
  since: number;
  suspicion?: { accusers: readonly string[]; timeoutMs: number };
}

interface Rec {
  node: string;
  state: MemberState;
  incarnation: number;
  endpoint?: Endpoint;
  since: number;
  suspicion?: Suspicion;
  /** When it last came back from dead or left in our view (see #fromOtherSide). */
  revivedAt?: number;
  /** When its last answer came as a datagram (see UDP_TRUST_MS). */
  datagramAckAt?: number;
  /** Its connection closed and it has sent nothing on a stream since: checks send the stream copy. */
  closed?: boolean;
  /** When a reconnect's answer last started a push-pull with it (see #backFromDead). */
  reconnectedAt?: number;
  /** When it last sent us a direct message (not gossip, which others relay): see heardAt(). */
  heardAt?: number;
}

interface PendingProbe {
  kind: 'probe';
  target: string;
  started: number;
  acked: boolean;
  nacks: number;
  timer?: Timer;
}

interface PendingRelay {
  kind: 'relay';
  target: string;
  origin: string;
  originSeq: number;
  /** The ping-req came as a datagram (a check): relay and answer the same way. */
  urgent: boolean;
  timer: Timer;
}

interface PendingReconnect {
  kind: 'reconnect';
  target: string;
  timer: Timer;
}

/**
 * How long a refused connection counts as fresh evidence: checks
 * skip their direct wait and helpers nack at once instead of dialling again.
 * Any message from the member clears it; a second is longer than a crash's
 * burst of checks and shorter than any restart.
 */
const REFUSED_MEMORY_MS = 1_000;
/** Members believed dead that one sweep pings (#sweepDead); answers trigger further sweeps. */
const MAX_SWEEP = 32;
/** Answered seqs remembered to tell a second copy of an ack from an unknown one (a few seconds of probes and checks). */
const MAX_ACKED = 1_024;

/** Unknown senders remembered for the push-pull rate limit (#learnFrom). */
const MAX_ASKED = 1_000;

/**
 * How long one datagram answer vouches for the datagram path to a member: a
 * close-watch check's first ping then goes as a datagram alone. Its stream
 * copy (encryption, muxing, a write per copy at 50 checks a second per
 * watched announcer) was about half of an idle speaker's CPU at N = 8, and
 * on the 2 cores of the lab that CPU is what delayed every failover. A closed
 * connection or a failed check brings the stream copy back (it is what
 * notices a refused dial). Checks renew it every intervalMs; 5 s outlasts
 * any stretch of loss a check survives.
 */
const UDP_TRUST_MS = 5_000;

/** Answers travel the way their question came: a datagram answers a datagram, the stream a stream copy. */
const answerWay = (urgent: boolean): SendPath => (urgent ? 'datagram' : 'stream');
/** A relayed ping goes both ways when its ping-req came as a datagram (a check): a stalled stream cannot delay it, a refused dial is noticed. */
const relayWay = (urgent: boolean): SendPath => (urgent ? 'both' : 'stream');

/** A one-off check (the heirs' close watch of an announcer): settles once, true on any ack. */
interface PendingCheck {
  kind: 'check';
  target: string;
  phase: 'direct' | 'indirect' | 'settled';
  helpers: number;
  /** Helpers that nacked (a set: check traffic arrives twice, as a datagram and on the stream). */
  nacked: Set<string>;
  indirectTimeoutMs: number;
  /** The transport was refused by the target during this check. */
  refused: boolean;
  done: (ok: boolean, refused: boolean) => void;
  timer?: Timer;
}

type Pending = PendingProbe | PendingRelay | PendingReconnect | PendingCheck;

/** How hard one check() tries: see FastWatch (watch.ts) for the settings. */
export interface CheckOptions {
  /** Direct pings sent at once (redundancy against loss). */
  pings: number;
  /** Wait this long for a direct ack before asking helpers. */
  timeoutMs: number;
  /** Then wait this long for an ack relayed by a helper. */
  indirectTimeoutMs: number;
  /**
   * Ask the helpers at once, alongside the direct pings, instead of after
   * timeoutMs: the same evidence (an ack by either path wins) in less time.
   * For confirming a check that already failed; a first check stays sequential,
   * so steady-state checks cost no helper traffic.
   */
  parallel?: boolean;
}

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
  readonly #transport: MeshTransport;
  readonly #random: () => number;
  readonly #authority: PeerAuthority | undefined;
  readonly #claims: ClaimStore | undefined;
  readonly #onError: ((err: unknown, where: 'tick' | 'send') => void) | undefined;
  readonly #syncedListeners = new Set<SyncedListener>();
  #synced = false;
  /** The seeds of the last join and when it was asked (the join is retried until synced). */
  #joining: { seeds: readonly Endpoint[]; at: number } | undefined;
  readonly #awareness: Awareness;
  readonly #members = new Map<string, Rec>();
  readonly #pending = new Map<number, Pending>();
  readonly #probing = new Set<string>();
  readonly #queue = new PiggybackQueue();
  readonly #listeners = new Set<MemberEventListener>();
  readonly #timers = new Set<Timer>();
  /** When the transport last failed to reach a member (cleared by any message from it). */
  readonly #refused = new Map<string, number>();
  /** Seqs whose first ack arrived, oldest first (at most MAX_ACKED). */
  readonly #acked = new Set<number>();
  /** When #sweepDead last ran. */
  #lastSweep: number | undefined;
  /** When we last asked an unknown sender for its state (see #learnFrom). */
  /** Unknown senders asked for a push-pull, and when (bounded: a flood of invented names evicts the oldest). */
  readonly #asked = new BoundedMap<string, number>(MAX_ASKED);
  #order: string[] = [];
  #orderIndex = 0;
  #seq = 0;
  #live = 1;
  #running = false;
  #left = false;

  constructor(init: MembershipInit) {
    this.node = init.node;
    this.config = validateMeshConfig({ ...LAN_FAST, ...init.config });
    this.#clock = init.clock;
    this.#transport = init.transport;
    this.#random = init.random ?? Math.random;
    this.#authority = init.authority;
    this.#claims = init.claims;
    this.#onError = init.onError;
    this.#awareness = new Awareness(this.config.awarenessMax);
    const self: Rec = {
      node: init.node,
      state: 'alive',
      incarnation: init.incarnation ?? Math.floor(init.clock.wallNow() / 1000),
      since: init.clock.now(),
    };
    if (init.endpoint !== undefined) self.endpoint = init.endpoint;
    this.#members.set(init.node, self);
  }

  // ---- lifecycle -----------------------------------------------------------

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#left = false;
    this.#loop(
      () => this.#awareness.scale(this.config.probeIntervalMs),
      () => {
        this.#probeRound();
      },
    );
    this.#loop(
      () => pushPullInterval(this.config, this.#countLive()) * (0.5 + this.#random()),
      () => {
        this.#periodicPushPull();
      },
    );
    this.#loop(
      () => this.config.healPingIntervalMs,
      () => {
        this.#reconnectAndReap();
      },
    );
  }

  stop(): void {
    this.#running = false;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    for (const p of this.#pending.values()) p.timer?.cancel();
    this.#pending.clear();
    this.#probing.clear();
    for (const r of this.#members.values()) r.suspicion?.cancel();
  }

  /** How many entries its per-node tables hold (tests: they stay bounded). */
  tracked(): { members: number; asked: number; refused: number } {
    return { members: this.#members.size, asked: this.#asked.size, refused: this.#refused.size };
  }

  /** Graceful leave: tells everyone, then stops probing. */
  leave(): void {
    const self = this.#self();
    this.#left = true;
    const u: Update = { kind: 'left', node: this.node, incarnation: self.incarnation, from: this.node };
    this.#setState(self, 'left');
    this.#broadcast([u]);
    this.stop();
  }

  /**
   * Contacts seeds (known only by endpoint) with a full-state push-pull. With
   * no seeds this member is the first of its cluster: it is synced at once.
   */
  join(seeds: readonly Endpoint[]): void {
    this.#askSeeds(seeds);
    this.#broadcast([this.#aliveUpdate()]);
    if (seeds.length === 0) this.#markSynced('local', undefined);
    else if (!this.#synced) this.#joining = { seeds, at: this.#clock.now() };
  }

  #askSeeds(seeds: readonly Endpoint[]): void {
    for (const endpoint of seeds) {
      this.stats.pushPulls++;
      this.#send('', endpoint, this.#pushPullMessage(true, false));
    }
  }

  /**
   * A join whose push-pulls were all lost (a dial refused while the seed's
   * libp2p still tore down this node's last process, a stream reset under
   * load) would leave this member unsynced, answering for nothing, until the
   * periodic push-pull: 15-45 s. It asks its seeds again once per
   * reconnectIntervalMs.
   */
  #retryJoin(now: number): void {
    const j = this.#joining;
    if (j === undefined || this.#synced || now - j.at < this.config.reconnectIntervalMs) return;
    j.at = now;
    this.stats.joinRetries++;
    this.#askSeeds(j.seeds);
  }

  /**
   * True once this member knows the standing claims: it received a push-pull
   * reply (from a seed it joined through, or any later sync), or it joined
   * with no seeds. Never false again. A speaker answers for no IP until then.
   */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Calls `listener` once, when `synced` turns true, after the claims that made
   * it so are merged (never, if it already is: read `synced` first). Returns an
   * unsubscribe, like onEvent.
   */
  onSynced(listener: SyncedListener): () => void {
    this.#syncedListeners.add(listener);
    return () => this.#syncedListeners.delete(listener);
  }

  /**
   * Broadcasts this member's own claims (on change; the store is not told:
   * the caller keeps its own claims there). Split into messages of at most
   * MAX_GOSSIP_CLAIMS. Throws ForeignClaimError for a claim of another node
   * and MeshCodecError for one the codec cannot carry, before sending any.
   */
  publishClaims(claims: readonly MeshClaim[]): void {
    const msgs = claimsMessages(this.node, claims);
    if (this.#left) return;
    for (const m of msgs) this.#broadcastMessage(m);
  }

  /** Adds members as known-alive without any traffic (simulator and tests start from a converged view). */
  seed(members: readonly MemberSnapshot[]): void {
    for (const s of members) {
      if (s.node === this.node || this.#members.has(s.node)) continue;
      const rec: Rec = { node: s.node, state: 'dead', incarnation: s.incarnation, since: this.#clock.now() };
      if (s.endpoint !== undefined) rec.endpoint = s.endpoint;
      this.#setState(rec, s.state);
      this.#members.set(s.node, rec);
      this.#addToOrder(s.node);
    }
  }

  onEvent(listener: MemberEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- views ---------------------------------------------------------------

  get incarnation(): number {
    return this.#self().incarnation;
  }

  get awareness(): number {
    return this.#awareness.score;
  }

  get(node: string): MemberView | undefined {
    const r = this.#members.get(node);
    return r === undefined ? undefined : view(r);
  }

  /** The state of one member, without building a view (cheap: for hot loops). */
  stateOf(node: string): MemberState | undefined {
    return this.#members.get(node)?.state;
  }

  /**
   * When `node` last sent us anything directly (a ping, an answer however
   * late, a push-pull; not gossip, which others relay after it was sent):
   * monotonic ms. A busy member still says something; a hung one nothing.
   */
  heardAt(node: string): number | undefined {
    return this.#members.get(node)?.heardAt;
  }

  members(): MemberView[] {
    return [...this.#members.values()].map(view);
  }

  /** Members alive or suspected (not dead, not left), this one included. */
  liveCount(): number {
    return this.#countLive();
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
    this.#refused.delete(msg.from);
    const sender = this.#members.get(msg.from);
    if (sender !== undefined) {
      if (msg.type !== 'gossip' && msg.type !== 'claims') sender.heardAt = this.#clock.now();
      if (!urgent) sender.closed = false;
      else if (msg.type === 'ack') sender.datagramAckAt = this.#clock.now();
    }
    if (msg.type === 'ping' || msg.type === 'ping-req') this.#learnFrom(msg.from);
    if (msg.type === 'ping' && this.#members.get(msg.from)?.state === 'dead') this.#sweepDead();
    switch (msg.type) {
      case 'ping':
        this.#onPing(msg, urgent);
        return;
      case 'ack':
        this.#onAck(msg);
        return;
      case 'ping-req':
        this.#onPingReq(msg, urgent);
        return;
      case 'nack':
        this.#onNack(msg);
        return;
      case 'push-pull':
        this.#onPushPull(msg);
        return;
      case 'gossip':
        for (const u of msg.updates) this.#apply(u, 'gossip');
        return;
      case 'claims':
        this.#onClaims(msg);
        return;
    }
  }

  /** A hint (a closed connection): probe this member now, out of turn. */
  hint(node: string): void {
    const r = this.#members.get(node);
    if (r !== undefined) r.closed = true;
    if (this.#running) this.#probe(node);
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
    const r = this.#members.get(target);
    if (!this.#running || r === undefined || target === this.node) {
      done(false, false);
      return;
    }
    const seq = this.#nextSeq();
    const c: PendingCheck = {
      kind: 'check',
      target,
      phase: 'direct',
      helpers: 0,
      nacked: new Set(),
      indirectTimeoutMs: opts.indirectTimeoutMs,
      refused: false,
      done,
    };
    this.#pending.set(seq, c);
    const path = opts.pings > 1 || opts.parallel === true ? 'both' : this.#checkPath(r);
    for (let i = 0; i < opts.pings; i++) this.#send(target, r.endpoint, this.#ping(seq, target), path);
    if (this.#recentlyRefused(target)) {
      c.refused = true;
      // Its connection closed and its host refused us since: settled (see unreachable()).
      if (r.closed === true) {
        this.#settleCheck(c, false);
        return;
      }
      // It refused us a moment ago: ask the helpers at once (an ack still wins).
      this.#checkIndirect(seq, c);
      return;
    }
    if (opts.parallel === true) {
      this.#checkIndirect(seq, c);
      return;
    }
    c.timer = this.#afterUnlessLagged(c, opts.timeoutMs, () => {
      this.#checkIndirect(seq, c);
    });
  }

  /**
   * A check's deadline, postponed once by lagToleranceMs when it fired late
   * (our event loop was busy: the answers may be waiting unread behind it),
   * as a probe's are. A speaker back on the LAN works through reconnects,
   * handshakes and push-pulls for a while: without this its close watch
   * failed live announcers again and again and took their IPs.
   */
  #afterUnlessLagged(c: PendingCheck, ms: number, fn: () => void): Timer {
    let postponed = false;
    const fire = (lagged: boolean): void => {
      if (c.phase === 'settled') return;
      // A refusal is evidence enough: no reason to wait for more answers.
      if (lagged && !postponed && !c.refused) {
        postponed = true;
        c.timer = this.#after(this.config.lagToleranceMs, fire);
        return;
      }
      fn();
    };
    return this.#after(ms, fire);
  }

  /** Raises a suspicion of `node` on our own evidence (FastWatch's verdict), or confirms one. */
  suspect(node: string): void {
    if (this.#running) this.#accuse(node);
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
    this.#refused.set(node, this.#clock.now());
    const closed = this.#members.get(node)?.closed === true;
    for (const [seq, p] of this.#pending) {
      if (p.kind === 'check' && p.target === node && p.phase !== 'settled') {
        p.refused = true;
        if (closed) {
          this.#settleCheck(p, false);
          continue;
        }
        if (p.phase === 'indirect') {
          if (p.helpers === 0) this.#settleCheck(p, false); // nobody else to ask
          continue;
        }
        p.timer?.cancel();
        this.#checkIndirect(seq, p);
      } else if (p.kind === 'relay' && p.target === node) {
        p.timer.cancel();
        this.#pending.delete(seq);
        this.#sendRelayAnswer(p, {
          type: 'nack',
          seq: p.originSeq,
          from: this.node,
        });
      }
    }
  }

  /**
   * A check's first ping: a datagram alone while the datagram path to the
   * member is known to work (see UDP_TRUST_MS) and its connection has not
   * closed since; else a stream copy too. Confirming checks always send both.
   */
  #checkPath(r: Rec): SendPath {
    const at = r.datagramAckAt;
    const trusted = at !== undefined && this.#clock.now() - at < UDP_TRUST_MS;
    return trusted && r.closed !== true ? 'datagram' : 'both';
  }

  /** The transport failed to reach `node` within the last second and nothing came from it since. */
  #recentlyRefused(node: string): boolean {
    const at = this.#refused.get(node);
    return at !== undefined && this.#clock.now() - at < REFUSED_MEMORY_MS;
  }

  #checkIndirect(seq: number, c: PendingCheck): void {
    if (c.phase !== 'direct') return;
    c.phase = 'indirect';
    const helpers = this.#pick(
      this.config.indirectChecks,
      (r) => r.state === 'alive' && r.node !== this.node && r.node !== c.target,
    );
    c.helpers = helpers.length;
    if (helpers.length === 0 && c.refused) {
      // Nobody to ask, and the target's host refused us: that is the verdict.
      this.#settleCheck(c, false);
      return;
    }
    // With no helper (a 2-node cluster, or one that believes everyone else
    // suspect or dead: back on the LAN after its link was down) the direct
    // pings still get the whole deadline. Settling at once here failed every
    // confirming check in no time: a node back from a link cut gave a dozen
    // false verdicts on live announcers in its first second.
    for (const h of helpers)
      this.#send(h.node, h.endpoint, { type: 'ping-req', seq, from: this.node, target: c.target }, 'both');
    c.timer = this.#afterUnlessLagged(c, c.indirectTimeoutMs, () => {
      this.#settleCheck(c, false);
    });
  }

  #settleCheck(c: PendingCheck, ok: boolean): void {
    if (c.phase === 'settled') return;
    c.phase = 'settled';
    c.timer?.cancel();
    for (const [seq, p] of this.#pending) if (p === c) this.#pending.delete(seq);
    c.done(ok, c.refused);
  }

  // ---- probing -------------------------------------------------------------

  #probeRound(): void {
    const target = this.#nextTarget();
    if (target !== undefined) this.#probe(target);
  }

  #nextTarget(): string | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.#orderIndex < this.#order.length) {
        const node = this.#order[this.#orderIndex++] as string;
        const r = this.#members.get(node);
        if (r !== undefined && (r.state === 'alive' || r.state === 'suspect') && node !== this.node)
          return node;
      }
      this.#order = this.#shuffle(
        [...this.#members.values()]
          .filter((r) => r.node !== this.node && (r.state === 'alive' || r.state === 'suspect'))
          .map((r) => r.node),
      );
      this.#orderIndex = 0;
    }
    return undefined;
  }

  #probe(target: string): void {
    const r = this.#members.get(target);
    if (r === undefined || target === this.node || this.#probing.has(target)) return;
    if (r.state !== 'alive' && r.state !== 'suspect') return;
    const seq = this.#nextSeq();
    const p: PendingProbe = { kind: 'probe', target, started: this.#clock.now(), acked: false, nacks: 0 };
    this.#pending.set(seq, p);
    this.#probing.add(target);
    this.stats.probes++;
    // Probes travel as datagrams too (like memberlist's UDP probes): a lost TCP
    // segment stalls a stream ≥ 200 ms, longer than probeTimeout + indirectTimeout,
    // and under 5% loss those stalls turned into suspicions and, rarely, a verdict.
    this.#send(target, r.endpoint, this.#ping(seq, target), 'both');
    let postponed = false;
    const direct = (lagged: boolean): void => {
      if (p.acked) return;
      if (lagged && !postponed) {
        postponed = true;
        p.timer = this.#after(this.config.lagToleranceMs, direct);
        return;
      }
      this.#indirect(seq, p);
    };
    p.timer = this.#after(this.#awareness.scale(this.config.probeTimeoutMs), direct);
  }

  #indirect(seq: number, p: PendingProbe): void {
    const helpers = this.#pick(
      this.config.indirectChecks,
      (r) => r.state === 'alive' && r.node !== this.node && r.node !== p.target,
    );
    const req: PingReq = { type: 'ping-req', seq, from: this.node, target: p.target };
    for (const h of helpers) this.#send(h.node, h.endpoint, req, 'both');
    if (helpers.length > 0) this.stats.indirectProbes++;
    let postponed = false;
    const verdict = (lagged: boolean): void => {
      if (p.acked) return;
      if (lagged && !postponed) {
        postponed = true;
        p.timer = this.#after(this.config.lagToleranceMs, verdict);
        return;
      }
      this.#pending.delete(seq);
      this.#probing.delete(p.target);
      this.stats.probesFailed++;
      // Lifeguard: helpers that did not even nack point at our own health.
      const missing = helpers.length - p.nacks;
      this.#awareness.apply(helpers.length === 0 ? 1 : Math.max(0, missing));
      this.#accuse(p.target);
    };
    p.timer = this.#after(this.#awareness.scale(this.config.indirectTimeoutMs), verdict);
  }

  /**
   * A member we have never heard of probes us: the gossip of its join missed
   * us (gossipsub delivers only to peers whose subscription it already knows,
   * so a member that joined a moment before another can be missed by it, and
   * the piggyback copies may all go to others). Ask it for a push-pull, at
   * most once per reconnect interval, instead of waiting for the periodic
   * sync (30 s). Its reply carries its alive update, which we then gossip.
   */
  #learnFrom(node: string): void {
    if (node === this.node || this.#members.has(node)) return;
    const now = this.#clock.now();
    const last = this.#asked.get(node);
    if (last !== undefined && now - last < this.config.reconnectIntervalMs) return;
    this.#asked.set(node, now);
    this.stats.pushPulls++;
    this.#send(node, undefined, this.#pushPullMessage(false, false));
  }

  #onPing(msg: Ping, urgent: boolean): void {
    this.#applyAll(msg.piggyback, 'piggyback');
    if (msg.target !== this.node) {
      this.stats.drop('wrong-target');
      return;
    }
    const sender = this.#members.get(msg.from);
    const ack: Ack = { type: 'ack', seq: msg.seq, from: this.node, piggyback: this.#takePiggyback(msg.from) };
    this.#send(msg.from, sender?.endpoint, ack, answerWay(urgent));
  }

  #onAck(msg: Ack): void {
    this.#applyAll(msg.piggyback, 'piggyback');
    const p = this.#pending.get(msg.seq);
    if (p === undefined) {
      // The second copy of an answer (probes and confirming checks go both ways), or late
      // (after its timeout) or replayed: harmless, but counted apart, so that
      // `unknown-seq` rising still means something.
      this.stats.drop(this.#acked.has(msg.seq) ? 'duplicate' : 'unknown-seq');
      return;
    }
    this.#pending.delete(msg.seq);
    this.#acked.add(msg.seq);
    if (this.#acked.size > MAX_ACKED) this.#acked.delete(this.#acked.values().next().value as number);
    p.timer?.cancel();
    switch (p.kind) {
      case 'probe':
        p.acked = true;
        this.#probing.delete(p.target);
        this.stats.observeRtt(this.#clock.now() - p.started);
        this.#awareness.apply(-1);
        return;
      case 'relay':
        this.#sendRelayAnswer(p, { type: 'ack', seq: p.originSeq, from: this.node, piggyback: [] });
        return;
      case 'check':
        this.#settleCheck(p, true);
        return;
      case 'reconnect': {
        const r = this.#members.get(p.target);
        if (r !== undefined) {
          this.stats.pushPulls++;
          r.reconnectedAt = this.#clock.now();
          this.#transport.revive?.(r.node, r.endpoint);
          this.#send(r.node, r.endpoint, this.#pushPullMessage(false, false));
          this.#sweepDead();
        }
        return;
      }
    }
  }

  #onPingReq(msg: PingReq, urgent: boolean): void {
    const target = this.#members.get(msg.target);
    const origin = this.#members.get(msg.from);
    for (const p of this.#pending.values()) {
      // The second copy of a check's ping-req (datagram and stream): already relaying.
      if (p.kind === 'relay' && p.origin === msg.from && p.originSeq === msg.seq) return;
    }
    if (target === undefined || msg.target === this.node) {
      this.stats.drop('ping-req-unknown-target');
      return;
    }
    if (this.#recentlyRefused(msg.target)) {
      // We just failed to reach it (connection refused): say so now, do not re-dial.
      this.#send(
        msg.from,
        origin?.endpoint,
        { type: 'nack', seq: msg.seq, from: this.node },
        answerWay(urgent),
      );
      return;
    }
    const seq = this.#nextSeq();
    const timer = this.#after(this.config.probeTimeoutMs, () => {
      this.#pending.delete(seq);
      const nack: Nack = { type: 'nack', seq: msg.seq, from: this.node };
      this.#send(msg.from, origin?.endpoint, nack, answerWay(urgent));
    });
    this.#pending.set(seq, {
      kind: 'relay',
      target: msg.target,
      origin: msg.from,
      originSeq: msg.seq,
      urgent,
      timer,
    });
    this.#send(msg.target, target.endpoint, this.#ping(seq, msg.target), relayWay(urgent));
  }

  #onNack(msg: Nack): void {
    const p = this.#pending.get(msg.seq);
    if (p?.kind === 'probe') p.nacks++;
    if (p?.kind === 'check' && p.phase === 'indirect') {
      p.nacked.add(msg.from);
      if (p.nacked.size >= p.helpers) this.#settleCheck(p, false);
    }
  }

  // ---- suspicion and verdicts ---------------------------------------------

  /** Our probe of `node` failed: suspect it, or confirm an existing suspicion. */
  #accuse(node: string): void {
    const r = this.#members.get(node);
    if (r === undefined || (r.state !== 'alive' && r.state !== 'suspect')) return;
    this.#apply({ kind: 'suspect', node, incarnation: r.incarnation, from: this.node }, 'probe');
  }

  #startSuspicion(r: Rec, from: string): void {
    r.suspicion?.cancel();
    const { min, max } = suspicionBounds(this.config, this.#countLive());
    const k = Math.max(0, Math.min(this.config.suspicionConfirmations, this.#countLive() - 2));
    const incarnation = r.incarnation;
    let postponed = false;
    let graced = false;
    const expire = (): void => {
      const cur = this.#members.get(r.node);
      if (cur !== r || r.state !== 'suspect' || r.incarnation !== incarnation) return;
      const lag = this.#clock.now() - due();
      if (lag > this.config.lagToleranceMs && !postponed) {
        // Our own loop stalled: read what queued up (a refutation?) first.
        postponed = true;
        this.#awareness.apply(1);
        this.#after(this.config.lagToleranceMs, expire);
        return;
      }
      const accusers = r.suspicion?.accusers ?? [];
      if (!accusers.includes(this.node) && !graced) {
        // The accusers declare first and gossip it; we hear it within the
        // grace and need not flood a verdict of our own (N floods at scale).
        graced = true;
        this.#after(this.config.verdictGraceMs, expire);
        return;
      }
      this.stats.suspicionsConfirmed++;
      this.#apply({ kind: 'dead', node: r.node, incarnation, from: this.node }, 'local', accusers);
    };
    const suspicion = new Suspicion(this.#clock, { from, k, min, max, onTimeout: expire });
    const started = this.#clock.now();
    const due = (): number => started + suspicion.timeout();
    r.suspicion = suspicion;
  }

  // ---- applying updates ----------------------------------------------------

  #applyAll(updates: readonly Update[], via: Via): void {
    for (const u of updates) this.#apply(u, via);
  }

  /** Applies one update; returns true when it changed what we know. */
  #apply(u: Update, via: Via, accusers?: readonly string[]): boolean {
    if (!originIsValid(u)) {
      this.stats.drop('invalid-origin');
      return false;
    }
    if (
      u.kind === 'alive' &&
      u.endpoint !== undefined &&
      this.#authority?.maySpeakFor(u.endpoint.peerId, u.node) === false
    ) {
      this.stats.drop('unauthorised-endpoint');
      return false;
    }
    if (u.node === this.node) {
      this.#aboutSelf(u);
      return false;
    }
    if ((u.kind === 'suspect' || u.kind === 'dead') && u.from !== this.node && this.#fromOtherSide(u.from)) {
      // An accusation from a member we believe dead is from the other side of
      // a partition (queued during it, delivered after the heal, or its view
      // in a push-pull). Seen after a healed 4 | 4 split: applied, it declared
      // members dead that had been alive beside us all along, and each such
      // flip moved IPs again.
      this.stats.drop('accuser-dead');
      return false;
    }
    const known = this.#members.get(u.node);
    if (isConfirmation(known, u)) {
      if (known?.suspicion?.confirm(u.from) === true) {
        this.#queue.push(u);
        if (u.from === this.node) this.#broadcast([u]);
      }
      return false;
    }
    if (!supersedes(known, u)) {
      this.stats.stale++;
      return false;
    }
    const previous = known?.state;
    const r: Rec = known ?? { node: u.node, state: 'dead', incarnation: u.incarnation, since: 0 };
    if (u.kind === 'alive' && (previous === 'dead' || previous === 'left')) r.revivedAt = this.#clock.now();
    this.#setState(r, u.kind);
    r.incarnation = u.incarnation;
    r.since = this.#clock.now();
    if (u.endpoint !== undefined) r.endpoint = u.endpoint;
    if (known === undefined) {
      this.#members.set(u.node, r);
      this.#addToOrder(u.node);
    }
    if (u.kind === 'suspect') {
      this.stats.suspicionsRaised++;
      this.#startSuspicion(r, u.from);
      if (u.from !== this.node) this.#maybeConfirmProbe(u.node);
    } else {
      r.suspicion?.cancel();
      delete r.suspicion;
    }
    this.#queue.push(u);
    // Gossip carries each change once, from its origin: what we concluded
    // ourselves. Relayed knowledge rides on pings and acks (the queue above).
    if (u.from === this.node) this.#broadcast([u]);
    this.#emit(u, via, previous, accusers);
    if (previous === 'dead' && u.kind === 'alive') this.#backFromDead(r);
    return true;
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
  #backFromDead(r: Rec): void {
    if (!this.#running) return;
    const at = r.reconnectedAt;
    const justSynced = at !== undefined && this.#clock.now() - at < this.config.reconnectIntervalMs;
    // (A reconnect's own push-pull is what usually brings the news: no second one.)
    if (!justSynced && !this.#reconnecting(r.node)) this.#reconnect(r);
    this.#sweepDead();
  }

  /**
   * The accuser is on the other side of a partition as far as we know:
   * believed dead or left, or back from it for less than
   * reconnectIntervalMs. The second case matters as much: its first message
   * after a heal often carries its own refutation first and then the verdicts
   * it reached during the split (seen at N = 8: members on our side declared
   * dead 15 ms after the heal, an IP taken over and moved twice more). Whoever
   * really died during a split was beyond our reach too, so our own probes
   * have judged it; a new failure is caught by them within a probe round.
   */
  #fromOtherSide(node: string): boolean {
    if (this.#believedGone(node)) return true;
    const at = this.#members.get(node)?.revivedAt;
    return at !== undefined && this.#clock.now() - at < this.config.reconnectIntervalMs;
  }

  #believedGone(node: string): boolean {
    const state = this.#members.get(node)?.state;
    return state === 'dead' || state === 'left';
  }

  /** Someone says something about us: refute suspicion and death, catch up on incarnations. */
  #aboutSelf(u: Update): void {
    const self = this.#self();
    const accused = u.kind === 'suspect' || u.kind === 'dead' || (u.kind === 'left' && !this.#left);
    if (accused && u.incarnation >= self.incarnation) {
      self.incarnation = u.incarnation + 1;
      this.stats.refutations++;
      this.#awareness.apply(1);
      // Gossiped and piggybacked both: right after a heal, gossipsub's mesh
      // across the old split has not mended yet, and the answer to the ping
      // that carried the accusation goes straight back to the accuser.
      const alive = this.#aliveUpdate();
      this.#queue.push(alive);
      this.#broadcast([alive]);
      this.#republishOwnClaims();
    } else if (u.kind === 'alive' && u.incarnation > self.incarnation) {
      // An earlier life of ours had a higher incarnation: outbid it.
      self.incarnation = u.incarnation + 1;
      this.#broadcast([this.#aliveUpdate()]);
    }
  }

  // ---- claims ----------------------------------------------------------------

  /** Gossip carries a node's own claims only: any other is dropped and counted. */
  #onClaims(msg: Claims): void {
    const own = msg.claims.filter((c) => c.node === msg.from);
    for (let i = own.length; i < msg.claims.length; i++) this.stats.drop('claim-not-own');
    if (own.length === 0) return;
    if (this.#claims === undefined) this.stats.drop('no-claim-store');
    else this.#claims.merge(own, msg.from, 'gossip');
  }

  /**
   * After a refutation: whoever suspected us (maybe the other side of a
   * partition that just healed) may have missed our claims, and our holders'
   * rivals learn of them this way within a gossip hop instead of a push-pull
   * interval.
   */
  #republishOwnClaims(): void {
    const own = this.#claims?.all().filter((c) => c.node === this.node) ?? [];
    try {
      for (const m of claimsMessages(this.node, own)) this.#broadcastMessage(m);
    } catch {
      this.stats.drop('claim-unencodable');
    }
  }

  #markSynced(via: SyncedEvent['via'], from: string | undefined): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#joining = undefined;
    const event: SyncedEvent = { via, at: this.#clock.now(), wallAt: this.#clock.wallNow() };
    if (from !== undefined) event.from = from;
    for (const l of this.#syncedListeners) l(event);
    this.#syncedListeners.clear();
  }

  #maybeConfirmProbe(node: string): void {
    const others = this.#countLive() - 2; // not us, not the suspect
    if (others <= 0 || this.config.confirmProbes <= 0) return;
    if (this.#random() < Math.min(1, this.config.confirmProbes / others)) this.#probe(node);
  }

  // ---- push-pull -------------------------------------------------------------

  #periodicPushPull(): void {
    const [peer] = this.#pick(1, (r) => r.state === 'alive' && r.node !== this.node);
    if (peer === undefined) return;
    this.stats.pushPulls++;
    this.#send(peer.node, peer.endpoint, this.#pushPullMessage(false, false));
  }

  #onPushPull(msg: PushPull): void {
    // The sender's own entry first: if it comes back from the dead with a
    // higher incarnation, its view of the others counts (see #apply).
    const members = [...msg.members].sort(
      (a, b) => Number(b.node === msg.from) - Number(a.node === msg.from),
    );
    for (const s of members) {
      const u = snapshotToUpdate(s, msg.from);
      // A member that tells us about itself by push-pull is joining (or
      // rejoining): we tell everyone, it has no gossip mesh yet.
      if (u !== undefined && this.#apply(u, 'push-pull') && u.node === msg.from) this.#broadcast([u]);
    }
    if (msg.claims.length > 0) {
      if (this.#claims === undefined) this.stats.drop('no-claim-store');
      else this.#claims.merge(msg.claims, msg.from, 'push-pull');
    }
    if (msg.reply) this.#markSynced('push-pull', msg.from);
    else {
      const sender = this.#members.get(msg.from);
      this.#send(msg.from, sender?.endpoint, this.#pushPullMessage(false, true));
    }
  }

  #pushPullMessage(join: boolean, reply: boolean): PushPull {
    const members: MemberSnapshot[] = [];
    for (const r of this.#members.values()) {
      const s: MemberSnapshot = { node: r.node, state: r.state, incarnation: r.incarnation };
      if (r.endpoint !== undefined) s.endpoint = r.endpoint;
      members.push(s);
    }
    let claims = this.#claims?.all() ?? [];
    if (claims.length > MAX_CLAIMS) {
      this.stats.drop('claims-over-limit');
      claims = claims.slice(0, MAX_CLAIMS);
    }
    return { type: 'push-pull', from: this.node, join, reply, members, claims };
  }

  #reconnectAndReap(): void {
    const now = this.#clock.now();
    this.#retryJoin(now);
    for (const r of this.#members.values()) {
      if (
        (r.state === 'dead' || r.state === 'left') &&
        r.node !== this.node &&
        now - r.since > this.config.reapAfterMs
      ) {
        this.#members.delete(r.node);
        this.#refused.delete(r.node);
        this.#asked.delete(r.node);
        this.#transport.forget?.(r.node);
      }
    }
    // About MAX_SWEEP pings across the whole mesh per interval, however large:
    // every member believed dead in a small mesh (what makes a heal quick),
    // one each in a mesh of 32 or more (where N pingers are quick anyway).
    this.#pingDead(Math.ceil(MAX_SWEEP / this.#members.size));
  }

  /** Pings up to `max` random members believed dead that no reconnect is waiting on. */
  #pingDead(max: number): void {
    for (const r of this.#pick(max, (m) => m.state === 'dead' && !this.#reconnecting(m.node)))
      this.#reconnect(r);
  }

  #reconnect(dead: Rec): void {
    const seq = this.#nextSeq();
    const timer = this.#after(this.config.probeTimeoutMs, () => this.#pending.delete(seq));
    this.#pending.set(seq, { kind: 'reconnect', target: dead.node, timer });
    // A datagram only: a stream would dial, and a dial into the partition that
    // made it dead hangs (SYN retries at 1 s, 3 s) with the push-pull queued behind it.
    // Nothing piggybacked: pings into a partition would use up the updates'
    // retransmissions; the push-pull an answer starts carries everything.
    const ping: Ping = { type: 'ping', seq, from: this.node, target: dead.node, piggyback: [] };
    this.#send(dead.node, dead.endpoint, ping, 'datagram');
  }

  /**
   * A member we believed dead is talking to us: the partition that separated
   * us has probably healed, so ping every member we believe dead now (up to
   * MAX_SWEEP, at most once per probe interval) instead of at the next
   * healPingIntervalMs. Each answer starts its own push-pull; both sides
   * cascade, and a healed half | half split is one view again in a few round
   * trips instead of after several reconnect rounds.
   */
  #sweepDead(): void {
    const now = this.#clock.now();
    if (this.#lastSweep !== undefined && now - this.#lastSweep < this.config.probeIntervalMs) return;
    this.#lastSweep = now;
    this.#pingDead(MAX_SWEEP);
  }

  #reconnecting(node: string): boolean {
    for (const p of this.#pending.values()) if (p.kind === 'reconnect' && p.target === node) return true;
    return false;
  }

  // ---- helpers ---------------------------------------------------------------

  #self(): Rec {
    return this.#members.get(this.node) as Rec;
  }

  #aliveUpdate(): Update {
    const self = this.#self();
    const u: Update = { kind: 'alive', node: this.node, incarnation: self.incarnation, from: this.node };
    if (self.endpoint !== undefined) u.endpoint = self.endpoint;
    return u;
  }

  #ping(seq: number, target: string): Ping {
    return { type: 'ping', seq, from: this.node, target, piggyback: this.#takePiggyback(target) };
  }

  /**
   * Updates to piggyback on a message to `to`. If we suspect `to` or believe
   * it dead, that accusation goes first, every time: the piggyback queue
   * retransmits each update only a few times, and after a partition heals
   * those were spent on our own side; told directly, the accused refutes at
   * once (and its refutation rides back on its answer) instead of its
   * suspicion running out into a dead verdict.
   */
  #takePiggyback(to?: string): Update[] {
    const r = to === undefined ? undefined : this.#members.get(to);
    const accuse = r !== undefined && (r.state === 'suspect' || r.state === 'dead');
    const updates = this.#queue.take(
      this.config.maxPiggyback - (accuse ? 1 : 0),
      retransmitLimit(this.config, this.#countLive()),
    );
    if (!accuse || updates.some((u) => u.node === r.node && u.kind === r.state)) return updates;
    return [{ kind: r.state, node: r.node, incarnation: r.incarnation, from: this.node }, ...updates];
  }

  /** Answers the origin of a relayed probe, on the channel its ping-req came on. */
  #sendRelayAnswer(p: PendingRelay, msg: Ack | Nack): void {
    this.#send(p.origin, this.#members.get(p.origin)?.endpoint, msg, answerWay(p.urgent));
  }

  /**
   * `path` (see SendPath): probes and confirming checks go `both` ways, so a
   * stalled TCP connection cannot delay them; a first check while the datagram
   * path is trusted, answers to datagrams and pings to the dead as a datagram only.
   */
  #send(to: string, endpoint: Endpoint | undefined, msg: DirectMessage, path: SendPath = 'stream'): void {
    if (!this.#running && msg.type !== 'push-pull') return;
    this.stats.sent(msg.type);
    this.#transmit(() => {
      this.#transport.send(to, endpoint, msg, path);
    });
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
      this.stats.sendErrors++;
      this.#onError?.(err, 'send');
    }
  }

  #broadcast(updates: Update[]): void {
    const g: Gossip = { type: 'gossip', from: this.node, updates };
    this.#broadcastMessage(g);
  }

  #broadcastMessage(msg: Gossip | Claims): void {
    this.stats.sent(msg.type);
    this.#transmit(() => {
      this.#transport.broadcast(msg);
    });
  }

  #emit(u: Update, via: Via, previous: MemberState | undefined, accusers?: readonly string[]): void {
    if (this.#listeners.size === 0) return;
    const type: MemberEvent['type'] = previous === undefined && u.kind === 'alive' ? 'joined' : u.kind;
    const evidence: MemberEvent['evidence'] = { via, from: u.from };
    if (previous !== undefined) evidence.previous = previous;
    if (accusers !== undefined) evidence.accusers = accusers;
    const event: MemberEvent = {
      type,
      node: u.node,
      incarnation: u.incarnation,
      at: this.#clock.now(),
      wallAt: this.#clock.wallNow(),
      evidence,
    };
    for (const l of this.#listeners) l(event);
  }

  /** A repeating timer whose period is re-read every time (awareness and N change it). */
  #loop(period: () => number, fn: () => void): void {
    const arm = (): void => {
      const t = this.#clock.setTimeout(
        () => {
          this.#timers.delete(t);
          if (!this.#running) return;
          // A tick that throws (a transport or claim store bug, a malformed
          // record) must not end the loop for good: the member would stop
          // probing and syncing while looking alive. Count it, report it, go on.
          try {
            fn();
          } catch (err) {
            this.stats.loopErrors++;
            this.#onError?.(err, 'tick');
          }
          arm();
        },
        period() * (0.9 + 0.2 * this.#random()),
      );
      this.#timers.add(t);
    };
    arm();
  }

  /**
   * A one-shot timer that tells its callback whether it fired late (our event
   * loop lagged). Tracked until it fires, so that stop() cancels it too.
   */
  #after(ms: number, fn: (lagged: boolean) => void): Timer {
    const due = this.#clock.now() + ms;
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      const lag = this.#clock.now() - due;
      const lagged = lag > this.config.lagToleranceMs;
      if (lagged) {
        this.stats.lagEvents++;
        this.#awareness.apply(1);
      }
      if (this.#running) fn(lagged);
    }, ms);
    this.#timers.add(timer);
    return {
      cancel: () => {
        this.#timers.delete(timer);
        timer.cancel();
      },
    };
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) % Number.MAX_SAFE_INTEGER;
    return this.#seq;
  }

  #countLive(): number {
    return this.#live;
  }

  /** Sets a member's state, keeping the live count (alive + suspect) current. */
  #setState(r: Rec, state: MemberState): void {
    const wasLive = r.state === 'alive' || r.state === 'suspect';
    const isLive = state === 'alive' || state === 'suspect';
    r.state = state;
    if (wasLive !== isLive) this.#live += isLive ? 1 : -1;
  }

  #addToOrder(node: string): void {
    // A new member goes to a random place in the current round (memberlist does the same).
    const at = this.#orderIndex + Math.floor(this.#random() * (this.#order.length - this.#orderIndex + 1));
    this.#order.splice(at, 0, node);
  }

  #pick(k: number, ok: (r: Rec) => boolean): Rec[] {
    const candidates = [...this.#members.values()].filter(ok);
    // Partial Fisher-Yates: k random distinct members.
    const n = Math.min(k, candidates.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.#random() * (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j] as Rec, candidates[i] as Rec];
    }
    return candidates.slice(0, n);
  }

  #shuffle(xs: string[]): string[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [xs[i], xs[j]] = [xs[j] as string, xs[i] as string];
    }
    return xs;
  }
}

function view(r: Rec): MemberView {
  const v: MemberView = { node: r.node, state: r.state, incarnation: r.incarnation, since: r.since };
  if (r.endpoint !== undefined) v.endpoint = r.endpoint;
  if (r.suspicion !== undefined)
    v.suspicion = { accusers: r.suspicion.accusers, timeoutMs: r.suspicion.timeout() };
  return v;
}

/**
 * A push-pull entry as an update. Like memberlist, a remote "dead" becomes a
 * suspicion here: we give the member the chance to refute instead of taking
 * another member's verdict (maybe from the other side of a partition) as ours.
 */
function snapshotToUpdate(s: MemberSnapshot, sender: string): Update | undefined {
  switch (s.state) {
    case 'alive': {
      const u: Update = { kind: 'alive', node: s.node, incarnation: s.incarnation, from: s.node };
      if (s.endpoint !== undefined) u.endpoint = s.endpoint;
      return u;
    }
    case 'suspect':
    case 'dead':
      return { kind: 'suspect', node: s.node, incarnation: s.incarnation, from: sender };
    case 'left':
      return { kind: 'left', node: s.node, incarnation: s.incarnation, from: s.node };
  }
}
