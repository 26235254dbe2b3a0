/**
 * SWIM's failure detector: one member probed per round in shuffled
 * round-robin order (a direct ping, then ping-req through `indirectChecks`
 * helpers, then an accusation), our answers to others' pings, and the pings we
 * relay for others' ping-reqs. Lifeguard: helpers that did not even nack point
 * at our own health, and a verdict reached by a timer that fired late waits
 * for the messages queued behind it.
 */
import type { Timer } from '../../clock/index.ts';
import type { Ack, Nack, Ping, PingReq } from '../messages.ts';
import type { SendPath } from '../transport.ts';
import type { Checker } from './checks.ts';
import { answerWay, type SwimContext } from './context.ts';
import type { PendingProbe, PendingRelay } from './pending.ts';

/** A relayed ping goes both ways when its ping-req came as a datagram (a check): a stalled stream cannot delay it, a refused dial is noticed. */
const relayWay = (urgent: boolean): SendPath => (urgent ? 'both' : 'stream');

export class Prober {
  readonly #cx: SwimContext;
  readonly #checker: Checker;
  /** Our probe of a member failed: suspect it, or confirm an existing suspicion. */
  readonly #accuse: (node: string) => void;
  /** Members with a probe in flight (one at a time each). */
  readonly #probing = new Set<string>();

  constructor(cx: SwimContext, checker: Checker, accuse: (node: string) => void) {
    this.#cx = cx;
    this.#checker = checker;
    this.#accuse = accuse;
  }

  /** One probe round: the next member in the shuffled order. */
  round(): void {
    const target = this.#cx.table.nextTarget();
    if (target !== undefined) this.probe(target);
  }

  /** Probes `target` now, unless a probe of it is in flight or it is not alive or suspect. */
  probe(target: string): void {
    const { table, pending, outbox, stats, clock, config, awareness, timers } = this.#cx;
    const r = table.get(target);
    if (r === undefined || target === this.#cx.node || this.#probing.has(target)) return;
    if (r.state !== 'alive' && r.state !== 'suspect') return;
    const seq = pending.nextSeq();
    const p: PendingProbe = { kind: 'probe', target, started: clock.now(), acked: false, nacks: 0 };
    pending.set(seq, p);
    this.#probing.add(target);
    stats.probes++;
    // Probes travel as datagrams too (like memberlist's UDP probes): a lost TCP
    // segment stalls a stream ≥ 200 ms, longer than probeTimeout + indirectTimeout,
    // and under 5% loss those stalls turned into suspicions and, rarely, a verdict.
    outbox.send(target, r.endpoint, outbox.ping(seq, target), 'both');
    timers.deadline(
      awareness.scale(config.probeTimeoutMs),
      () => {
        this.#indirect(seq, p);
      },
      this.#waiting(p),
    );
  }

  /** Our probe was answered. */
  acked(p: PendingProbe): void {
    p.acked = true;
    this.#probing.delete(p.target);
    this.#cx.stats.observeRtt(this.#cx.clock.now() - p.started);
    this.#cx.awareness.apply(-1);
  }

  /** A ping: answer it on the way it came (its piggyback already applied). */
  onPing(msg: Ping, urgent: boolean): void {
    const { node, outbox, stats } = this.#cx;
    if (msg.target !== node) {
      stats.drop('wrong-target');
      return;
    }
    const ack: Ack = { type: 'ack', seq: msg.seq, from: node, piggyback: outbox.takePiggyback(msg.from) };
    outbox.sendTo(msg.from, ack, answerWay(urgent));
  }

  /** Someone asks us to ping `msg.target` for it: relay, and answer with an ack or a nack. */
  onPingReq(msg: PingReq, urgent: boolean): void {
    const { node, table, pending, outbox, stats, timers, config } = this.#cx;
    const target = table.get(msg.target);
    for (const p of pending.values()) {
      // The second copy of a check's ping-req (datagram and stream): already relaying.
      if (p.kind === 'relay' && p.origin === msg.from && p.originSeq === msg.seq) return;
    }
    if (target === undefined || msg.target === node) {
      stats.drop('ping-req-unknown-target');
      return;
    }
    if (this.#checker.recentlyRefused(msg.target)) {
      // We just failed to reach it (connection refused): say so now, do not re-dial.
      outbox.sendTo(msg.from, { type: 'nack', seq: msg.seq, from: node }, answerWay(urgent));
      return;
    }
    const seq = pending.nextSeq();
    const timer = timers.after(config.probeTimeoutMs, () => {
      pending.delete(seq);
      const nack: Nack = { type: 'nack', seq: msg.seq, from: node };
      outbox.sendTo(msg.from, nack, answerWay(urgent));
    });
    pending.set(seq, {
      kind: 'relay',
      target: msg.target,
      origin: msg.from,
      originSeq: msg.seq,
      urgent,
      timer,
    });
    outbox.send(msg.target, target.endpoint, outbox.ping(seq, msg.target), relayWay(urgent));
  }

  /** The member we relay a ping to answered: pass the ack on. */
  relayed(p: PendingRelay): void {
    this.#answerRelay(p, { type: 'ack', seq: p.originSeq, from: this.#cx.node, piggyback: [] });
  }

  /** `node`'s host refused a connection: our relays to it nack at once instead of waiting out their timeout. */
  refusedBy(node: string): void {
    for (const [seq, p] of this.#cx.pending.entries()) {
      if (p.kind !== 'relay' || p.target !== node) continue;
      p.timer.cancel();
      this.#cx.pending.delete(seq);
      this.#answerRelay(p, { type: 'nack', seq: p.originSeq, from: this.#cx.node });
    }
  }

  /** The in-flight probes are dropped with the pending table (stop()). */
  clear(): void {
    this.#probing.clear();
  }

  #indirect(seq: number, p: PendingProbe): void {
    const { node, config, table, outbox, stats, pending, awareness, timers } = this.#cx;
    const helpers = table.pick(
      config.indirectChecks,
      (r) => r.state === 'alive' && r.node !== node && r.node !== p.target,
    );
    const req: PingReq = { type: 'ping-req', seq, from: node, target: p.target };
    for (const h of helpers) outbox.send(h.node, h.endpoint, req, 'both');
    if (helpers.length > 0) stats.indirectProbes++;
    const verdict = (): void => {
      pending.delete(seq);
      this.#probing.delete(p.target);
      stats.probesFailed++;
      // Lifeguard: helpers that did not even nack point at our own health.
      const missing = helpers.length - p.nacks;
      awareness.apply(helpers.length === 0 ? 1 : Math.max(0, missing));
      this.#accuse(p.target);
    };
    timers.deadline(awareness.scale(config.indirectTimeoutMs), verdict, this.#waiting(p));
  }

  /** A probe's deadlines: nothing once it is acked; each timer kept on it, for the ack to cancel. */
  #waiting(p: PendingProbe): { done: () => boolean; armed: (t: Timer) => void } {
    return {
      done: () => p.acked,
      armed: (t) => {
        p.timer = t;
      },
    };
  }

  /** Answers the origin of a relayed probe, on the channel its ping-req came on. */
  #answerRelay(p: PendingRelay, msg: Ack | Nack): void {
    this.#cx.outbox.sendTo(p.origin, msg, answerWay(p.urgent));
  }
}
