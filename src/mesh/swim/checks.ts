/**
 * One-off checks of a member outside the probe rounds (the heirs' close watch
 * of an announcer, FastWatch): direct pings, then ping-reqs through helpers,
 * settled once; and the memory of refused connections that lets a check (and
 * a relay, see Prober) conclude at once instead of waiting out its timeouts.
 */
import type { SendPath } from '../transport.ts';
import type { SwimContext } from './context.ts';
import type { MemberRecord } from './member-table.ts';
import type { PendingCheck } from './pending.ts';

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
 * How long a refused connection counts as fresh evidence: checks
 * skip their direct wait and helpers nack at once instead of dialling again.
 * Any message from the member clears it; a second is longer than a crash's
 * burst of checks and shorter than any restart.
 */
const REFUSED_MEMORY_MS = 1_000;

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

export class Checker {
  readonly #cx: SwimContext;
  /** When the transport last failed to reach a member (cleared by any message from it). */
  readonly #refused = new Map<string, number>();

  constructor(cx: SwimContext) {
    this.#cx = cx;
  }

  /** Members with a refusal remembered (tests: the table stays bounded). */
  get refusedCount(): number {
    return this.#refused.size;
  }

  /** Any message from `node` clears its refusal. */
  heardFrom(node: string): void {
    this.#refused.delete(node);
  }

  /** `node` was reaped. */
  forget(node: string): void {
    this.#refused.delete(node);
  }

  /** The transport failed to reach `node` within the last second and nothing came from it since. */
  recentlyRefused(node: string): boolean {
    const at = this.#refused.get(node);
    return at !== undefined && this.#cx.clock.now() - at < REFUSED_MEMORY_MS;
  }

  /** See Membership.check(). */
  check(target: string, opts: CheckOptions, done: (ok: boolean, refused: boolean) => void): void {
    const { table, timers, pending, outbox } = this.#cx;
    const r = table.get(target);
    if (!timers.running || r === undefined || target === this.#cx.node) {
      done(false, false);
      return;
    }
    const seq = pending.nextSeq();
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
    pending.set(seq, c);
    const path = opts.pings > 1 || opts.parallel === true ? 'both' : this.#checkPath(r);
    for (let i = 0; i < opts.pings; i++) outbox.send(target, r.endpoint, outbox.ping(seq, target), path);
    if (this.recentlyRefused(target)) {
      c.refused = true;
      // Its connection closed and its host refused us since: settled (see refusedBy()).
      if (r.closed === true) {
        this.settle(c, false);
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
    this.#deadline(c, opts.timeoutMs, () => {
      this.#checkIndirect(seq, c);
    });
  }

  /**
   * `node`'s host refused a connection (see Membership.unreachable()): its
   * checks skip to their indirect phase, or settle at once after its
   * connection closed.
   */
  refusedBy(node: string): void {
    const { clock, table, pending } = this.#cx;
    this.#refused.set(node, clock.now());
    const closed = table.get(node)?.closed === true;
    for (const [seq, p] of pending.entries()) {
      if (p.kind !== 'check' || p.target !== node || p.phase === 'settled') continue;
      p.refused = true;
      if (closed) {
        this.settle(p, false);
        continue;
      }
      if (p.phase === 'indirect') {
        if (p.helpers === 0) this.settle(p, false); // nobody else to ask
        continue;
      }
      p.timer?.cancel();
      this.#checkIndirect(seq, p);
    }
  }

  /** A helper nacked a check's relayed ping: when every helper has, the check fails. */
  nacked(c: PendingCheck, from: string): void {
    if (c.phase !== 'indirect') return;
    c.nacked.add(from);
    if (c.nacked.size >= c.helpers) this.settle(c, false);
  }

  settle(c: PendingCheck, ok: boolean): void {
    if (c.phase === 'settled') return;
    c.phase = 'settled';
    c.timer?.cancel();
    this.#cx.pending.remove(c);
    c.done(ok, c.refused);
  }

  /**
   * A check's first ping: a datagram alone while the datagram path to the
   * member is known to work (see UDP_TRUST_MS) and its connection has not
   * closed since; else a stream copy too. Confirming checks always send both.
   */
  #checkPath(r: MemberRecord): SendPath {
    const at = r.datagramAckAt;
    const trusted = at !== undefined && this.#cx.clock.now() - at < UDP_TRUST_MS;
    return trusted && r.closed !== true ? 'datagram' : 'both';
  }

  /**
   * A check's deadline, postponed once by lagToleranceMs when it fired late,
   * as a probe's are (MeshTimers.deadline): a speaker back on the LAN works
   * through reconnects, handshakes and push-pulls for a while, and without
   * this its close watch failed live announcers again and again and took
   * their IPs. A refusal is evidence enough: then no reason to wait for more.
   */
  #deadline(c: PendingCheck, ms: number, fn: () => void): void {
    this.#cx.timers.deadline(ms, fn, {
      done: () => c.phase === 'settled',
      armed: (t) => {
        c.timer = t;
      },
      postpone: () => !c.refused,
    });
  }

  #checkIndirect(seq: number, c: PendingCheck): void {
    if (c.phase !== 'direct') return;
    const { config, table, outbox, node } = this.#cx;
    c.phase = 'indirect';
    const helpers = table.pick(
      config.indirectChecks,
      (r) => r.state === 'alive' && r.node !== node && r.node !== c.target,
    );
    c.helpers = helpers.length;
    if (helpers.length === 0 && c.refused) {
      // Nobody to ask, and the target's host refused us: that is the verdict.
      this.settle(c, false);
      return;
    }
    // With no helper (a 2-node cluster, or one that believes everyone else
    // suspect or dead: back on the LAN after its link was down) the direct
    // pings still get the whole deadline. Settling at once here failed every
    // confirming check in no time: a node back from a link cut gave a dozen
    // false verdicts on live announcers in its first second.
    for (const h of helpers)
      outbox.send(h.node, h.endpoint, { type: 'ping-req', seq, from: node, target: c.target }, 'both');
    this.#deadline(c, c.indirectTimeoutMs, () => {
      this.settle(c, false);
    });
  }
}
