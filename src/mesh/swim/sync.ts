/**
 * Full-state sync (memberlist's push-pull) and the claims it carries: the join
 * through seeds (retried until a reply comes), the periodic push-pull with a
 * random live member, the push-pull asked of a sender we have never heard of,
 * and the announcement claims that gossip and push-pull bring. "Synced" is
 * the first reply: from then on this member knows the standing claims.
 */
import { BoundedMap } from '../bounded-map.ts';
import { claimsMessages, type ClaimStore, type SyncedEvent, type SyncedListener } from '../claims.ts';
import { MAX_CLAIMS } from '../codec.ts';
import type { Claims, Endpoint, MemberSnapshot, PushPull, Update } from '../messages.ts';
import type { SwimContext } from './context.ts';
import type { UpdateRules } from './updates.ts';

/** Unknown senders remembered for the push-pull rate limit (learnFrom). */
const MAX_ASKED = 1_000;

export class Sync {
  readonly #cx: SwimContext;
  readonly #updates: UpdateRules;
  readonly #claims: ClaimStore | undefined;
  readonly #syncedListeners = new Set<SyncedListener>();
  #synced = false;
  /** The seeds of the last join and when it was asked (the join is retried until synced). */
  #joining: { seeds: readonly Endpoint[]; at: number } | undefined;
  /** Unknown senders asked for a push-pull, and when (bounded: a flood of invented names evicts the oldest). */
  readonly #asked = new BoundedMap<string, number>(MAX_ASKED);

  constructor(cx: SwimContext, updates: UpdateRules, claims: ClaimStore | undefined) {
    this.#cx = cx;
    this.#updates = updates;
    this.#claims = claims;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Unknown senders remembered (tests: the table stays bounded). */
  get askedCount(): number {
    return this.#asked.size;
  }

  onSynced(listener: SyncedListener): () => void {
    this.#syncedListeners.add(listener);
    return () => this.#syncedListeners.delete(listener);
  }

  /** See Membership.join(). */
  join(seeds: readonly Endpoint[]): void {
    this.#askSeeds(seeds);
    this.#cx.outbox.broadcast([this.#cx.outbox.aliveUpdate()]);
    if (seeds.length === 0) this.#markSynced('local', undefined);
    else if (!this.#synced) this.#joining = { seeds, at: this.#cx.clock.now() };
  }

  /**
   * A join whose push-pulls were all lost (a dial refused while the seed's
   * libp2p still tore down this node's last process, a stream reset under
   * load) would leave this member unsynced, answering for nothing, until the
   * periodic push-pull: 15-45 s. It asks its seeds again once per
   * reconnectIntervalMs.
   */
  retryJoin(now: number): void {
    const j = this.#joining;
    if (j === undefined || this.#synced || now - j.at < this.#cx.config.reconnectIntervalMs) return;
    j.at = now;
    this.#cx.stats.joinRetries++;
    this.#askSeeds(j.seeds);
  }

  periodic(): void {
    const [peer] = this.#cx.table.pick(1, (r) => r.state === 'alive' && r.node !== this.#cx.node);
    if (peer !== undefined) this.pushPull(peer.node, peer.endpoint);
  }

  /** Starts a push-pull with `node` (a reconnect's answer: see Healer). */
  pushPull(node: string, endpoint: Endpoint | undefined): void {
    this.#cx.stats.pushPulls++;
    this.#cx.outbox.send(node, endpoint, this.#message(false, false));
  }

  /**
   * A member we have never heard of probes us: the gossip of its join missed
   * us (gossipsub delivers only to peers whose subscription it already knows,
   * so a member that joined a moment before another can be missed by it, and
   * the piggyback copies may all go to others). Ask it for a push-pull, at
   * most once per reconnect interval, instead of waiting for the periodic
   * sync (30 s). Its reply carries its alive update, which we then gossip.
   */
  learnFrom(node: string): void {
    const { table, clock, config } = this.#cx;
    if (node === this.#cx.node || table.has(node)) return;
    const now = clock.now();
    const last = this.#asked.get(node);
    if (last !== undefined && now - last < config.reconnectIntervalMs) return;
    this.#asked.set(node, now);
    this.pushPull(node, undefined);
  }

  /** `node` was reaped. */
  forget(node: string): void {
    this.#asked.delete(node);
  }

  onPushPull(msg: PushPull): void {
    // The sender's own entry first: if it comes back from the dead with a
    // higher incarnation, its view of the others counts (see UpdateRules.apply).
    const members = [...msg.members].sort(
      (a, b) => Number(b.node === msg.from) - Number(a.node === msg.from),
    );
    for (const s of members) {
      const u = snapshotToUpdate(s, msg.from);
      // A member that tells us about itself by push-pull is joining (or
      // rejoining): we tell everyone, it has no gossip mesh yet.
      if (u !== undefined && this.#updates.apply(u, 'push-pull') && u.node === msg.from)
        this.#cx.outbox.broadcast([u]);
    }
    if (msg.claims.length > 0) {
      if (this.#claims === undefined) this.#cx.stats.drop('no-claim-store');
      else this.#claims.merge(msg.claims, msg.from, 'push-pull');
    }
    if (msg.reply) this.#markSynced('push-pull', msg.from);
    else this.#cx.outbox.sendTo(msg.from, this.#message(false, true));
  }

  /** Gossip carries a node's own claims only: any other is dropped and counted. */
  onClaims(msg: Claims): void {
    const own = msg.claims.filter((c) => c.node === msg.from);
    for (let i = own.length; i < msg.claims.length; i++) this.#cx.stats.drop('claim-not-own');
    if (own.length === 0) return;
    if (this.#claims === undefined) this.#cx.stats.drop('no-claim-store');
    else this.#claims.merge(own, msg.from, 'gossip');
  }

  /**
   * After a refutation: whoever suspected us (maybe the other side of a
   * partition that just healed) may have missed our claims, and our holders'
   * rivals learn of them this way within a gossip hop instead of a push-pull
   * interval.
   */
  republishOwnClaims(): void {
    const own = this.#claims?.all().filter((c) => c.node === this.#cx.node) ?? [];
    try {
      for (const m of claimsMessages(this.#cx.node, own)) this.#cx.outbox.broadcastMessage(m);
    } catch {
      this.#cx.stats.drop('claim-unencodable');
    }
  }

  #askSeeds(seeds: readonly Endpoint[]): void {
    for (const endpoint of seeds) {
      this.#cx.stats.pushPulls++;
      this.#cx.outbox.send('', endpoint, this.#message(true, false));
    }
  }

  #markSynced(via: SyncedEvent['via'], from: string | undefined): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#joining = undefined;
    const event: SyncedEvent = { via, at: this.#cx.clock.now(), wallAt: this.#cx.clock.wallNow() };
    if (from !== undefined) event.from = from;
    for (const l of this.#syncedListeners) l(event);
    this.#syncedListeners.clear();
  }

  #message(join: boolean, reply: boolean): PushPull {
    let claims = this.#claims?.all() ?? [];
    if (claims.length > MAX_CLAIMS) {
      this.#cx.stats.drop('claims-over-limit');
      claims = claims.slice(0, MAX_CLAIMS);
    }
    return {
      type: 'push-pull',
      from: this.#cx.node,
      join,
      reply,
      members: this.#cx.table.snapshots(),
      claims,
    };
  }
}

/**
 * A push-pull entry as an update. Like memberlist, a remote "dead" becomes a
 * suspicion here: we give the member the chance to refute instead of taking
 * another member's verdict (maybe from the other side of a partition) as ours.
 */
export function snapshotToUpdate(s: MemberSnapshot, sender: string): Update | undefined {
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
