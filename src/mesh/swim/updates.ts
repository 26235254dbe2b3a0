/**
 * Applying what we learn about members (SWIM's dissemination component and
 * its rules): an update supersedes what we know or is stale; suspicions run
 * Lifeguard's shrinking timeout into a verdict; accusations from the other
 * side of a partition are dropped; an accusation of ourselves is refuted by
 * raising our incarnation. What changed goes on the piggyback queue, what we
 * concluded ourselves on the gossip broadcast, and to the event listeners.
 */
import { suspicionBounds } from '../config.ts';
import type { MemberEvent, MemberEventListener, Via } from '../events.ts';
import type { MemberState, Update } from '../messages.ts';
import { isConfirmation, originIsValid, supersedes } from '../rules.ts';
import { Suspicion } from '../suspicion.ts';
import type { PeerAuthority } from '../transport.ts';
import type { SwimContext } from './context.ts';
import type { MemberRecord } from './member-table.ts';

/** What applying an update sets off in the other parts. */
export interface UpdateHooks {
  /** Probe `node` now, out of turn (a confirming probe of a new suspicion). */
  probe(node: string): void;
  /** `r`, believed dead, is alive: a partition has probably healed. */
  backFromDead(r: MemberRecord): void;
  /** We refuted an accusation of ourselves. */
  refuted(): void;
  /** We left: an update saying so is no accusation. */
  left(): boolean;
}

export class UpdateRules {
  readonly #cx: SwimContext;
  readonly #authority: PeerAuthority | undefined;
  readonly #hooks: UpdateHooks;
  readonly #listeners = new Set<MemberEventListener>();

  constructor(cx: SwimContext, authority: PeerAuthority | undefined, hooks: UpdateHooks) {
    this.#cx = cx;
    this.#authority = authority;
    this.#hooks = hooks;
  }

  onEvent(listener: MemberEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  applyAll(updates: readonly Update[], via: Via): void {
    for (const u of updates) this.apply(u, via);
  }

  /** Our own evidence against `node` (a failed probe, FastWatch's verdict): suspect it, or confirm a suspicion. */
  accuse(node: string): void {
    const r = this.#cx.table.get(node);
    if (r === undefined || (r.state !== 'alive' && r.state !== 'suspect')) return;
    this.apply({ kind: 'suspect', node, incarnation: r.incarnation, from: this.#cx.node }, 'probe');
  }

  /** Applies one update; returns true when it changed what we know. */
  apply(u: Update, via: Via, accusers?: readonly string[]): boolean {
    const { node, stats, table, clock, outbox } = this.#cx;
    if (!originIsValid(u)) {
      stats.drop('invalid-origin');
      return false;
    }
    if (
      u.kind === 'alive' &&
      u.endpoint !== undefined &&
      this.#authority?.maySpeakFor(u.endpoint.peerId, u.node) === false
    ) {
      stats.drop('unauthorised-endpoint');
      return false;
    }
    if (u.node === node) {
      this.#aboutSelf(u);
      return false;
    }
    if ((u.kind === 'suspect' || u.kind === 'dead') && u.from !== node && this.#fromOtherSide(u.from)) {
      // An accusation from a member we believe dead is from the other side of
      // a partition (queued during it, delivered after the heal, or its view
      // in a push-pull). Seen after a healed 4 | 4 split: applied, it declared
      // members dead that had been alive beside us all along, and each such
      // flip moved IPs again.
      stats.drop('accuser-dead');
      return false;
    }
    const known = table.get(u.node);
    if (isConfirmation(known, u)) {
      if (known?.suspicion?.confirm(u.from) === true) {
        outbox.piggyback(u);
        if (u.from === node) outbox.broadcast([u]);
      }
      return false;
    }
    if (!supersedes(known, u)) {
      stats.stale++;
      return false;
    }
    const previous = known?.state;
    const r: MemberRecord = known ?? { node: u.node, state: 'dead', incarnation: u.incarnation, since: 0 };
    if (u.kind === 'alive' && (previous === 'dead' || previous === 'left')) r.revivedAt = clock.now();
    table.setState(r, u.kind);
    r.incarnation = u.incarnation;
    r.since = clock.now();
    if (u.endpoint !== undefined) r.endpoint = u.endpoint;
    if (known === undefined) table.add(r);
    if (u.kind === 'suspect') {
      stats.suspicionsRaised++;
      this.#startSuspicion(r, u.from);
      if (u.from !== node) this.#maybeConfirmProbe(u.node);
    } else {
      r.suspicion?.cancel();
      delete r.suspicion;
    }
    outbox.piggyback(u);
    // Gossip carries each change once, from its origin: what we concluded
    // ourselves. Relayed knowledge rides on pings and acks (the queue above).
    if (u.from === node) outbox.broadcast([u]);
    this.#emit(u, via, previous, accusers);
    if (previous === 'dead' && u.kind === 'alive') this.#hooks.backFromDead(r);
    return true;
  }

  /** Cancels every running suspicion's timer (stop()). */
  stop(): void {
    for (const r of this.#cx.table.values()) r.suspicion?.cancel();
  }

  #startSuspicion(r: MemberRecord, from: string): void {
    const { config, table, clock, awareness, timers, stats, node } = this.#cx;
    r.suspicion?.cancel();
    const { min, max } = suspicionBounds(config, table.live);
    const k = Math.max(0, Math.min(config.suspicionConfirmations, table.live - 2));
    const incarnation = r.incarnation;
    let postponed = false;
    let graced = false;
    const expire = (): void => {
      const cur = table.get(r.node);
      if (cur !== r || r.state !== 'suspect' || r.incarnation !== incarnation) return;
      const lag = clock.now() - due();
      if (lag > config.lagToleranceMs && !postponed) {
        // Our own loop stalled: read what queued up (a refutation?) first.
        postponed = true;
        awareness.apply(1);
        timers.after(config.lagToleranceMs, expire);
        return;
      }
      const accusers = r.suspicion?.accusers ?? [];
      if (!accusers.includes(node) && !graced) {
        // The accusers declare first and gossip it; we hear it within the
        // grace and need not flood a verdict of our own (N floods at scale).
        graced = true;
        timers.after(config.verdictGraceMs, expire);
        return;
      }
      stats.suspicionsConfirmed++;
      this.apply({ kind: 'dead', node: r.node, incarnation, from: node }, 'local', accusers);
    };
    const suspicion = new Suspicion(clock, { from, k, min, max, onTimeout: expire });
    const started = clock.now();
    const due = (): number => started + suspicion.timeout();
    r.suspicion = suspicion;
  }

  #maybeConfirmProbe(node: string): void {
    const others = this.#cx.table.live - 2; // not us, not the suspect
    const { confirmProbes } = this.#cx.config;
    if (others <= 0 || confirmProbes <= 0) return;
    if (this.#cx.random() < Math.min(1, confirmProbes / others)) this.#hooks.probe(node);
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
    const r = this.#cx.table.get(node);
    if (r?.state === 'dead' || r?.state === 'left') return true;
    const at = r?.revivedAt;
    return at !== undefined && this.#cx.clock.now() - at < this.#cx.config.reconnectIntervalMs;
  }

  /** Someone says something about us: refute suspicion and death, catch up on incarnations. */
  #aboutSelf(u: Update): void {
    const { table, stats, awareness, outbox } = this.#cx;
    const self = table.self;
    const accused = u.kind === 'suspect' || u.kind === 'dead' || (u.kind === 'left' && !this.#hooks.left());
    if (accused && u.incarnation >= self.incarnation) {
      self.incarnation = u.incarnation + 1;
      stats.refutations++;
      awareness.apply(1);
      // Gossiped and piggybacked both: right after a heal, gossipsub's mesh
      // across the old split has not mended yet, and the answer to the ping
      // that carried the accusation goes straight back to the accuser.
      const alive = outbox.aliveUpdate();
      outbox.piggyback(alive);
      outbox.broadcast([alive]);
      this.#hooks.refuted();
    } else if (u.kind === 'alive' && u.incarnation > self.incarnation) {
      // An earlier life of ours had a higher incarnation: outbid it.
      self.incarnation = u.incarnation + 1;
      outbox.broadcast([outbox.aliveUpdate()]);
    }
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
      at: this.#cx.clock.now(),
      wallAt: this.#cx.clock.wallNow(),
      evidence,
    };
    for (const l of this.#listeners) l(event);
  }
}
