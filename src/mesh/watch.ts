import type { Clock, Timer } from '../clock/index.ts';
import type { CheckOptions, Membership } from './membership.ts';
import { PULSE_DEFAULTS, type PulseConfig, type PulseEvent, type Pulses } from './pulse.ts';

/**
 * Settings of the heirs' close watch of an announcer (the fast failover path).
 *
 * Time to a verdict on a hung announcer (no FIN: SIGSTOP, a frozen kernel,
 * a cut cable): up to intervalMs + (timeoutMs + indirectTimeoutMs) for the
 * first failed check + (confirmRounds − 1) × indirectTimeoutMs for the
 * confirming ones, which ask the helpers as they ping directly. Defaults:
 * 20 + 65 + 2 × 40 = 165 ms. On a crash
 * the peer's kernel resets the connection and refuses new ones: the closed
 * connection starts a check at once, and the transport's knock being refused
 * settles it with no helper asked (membership.unreachable; loss cannot fake a
 * refusal): tens of ms. A check fails only if nothing at all came directly
 * from the announcer while it ran (#check): slow is not hung.
 *
 * Check traffic goes as datagrams as well as on the stream (datagram.ts):
 * over TCP alone one lost segment stalls a connection for ≥ 200 ms, and a
 * stall looks like a hang (measured: 25 false takeovers in 10 minutes at 5%
 * loss with stream-only checks).
 *
 * False verdicts need confirmRounds consecutive checks to fail, each losing
 * its direct pings and all its helpers' relays. With 5% loss per port (~10%
 * per path): a first check fails with p ≈ 0.19 × 0.34³ ≈ 8e-3, a confirming
 * one (3 pings) with p ≈ 0.19³ × 0.34³ ≈ 3e-4; three in a row ≈ 7e-10 per
 * check. Two rounds measured 2 false takeovers in 3 minutes (correlated
 * stalls: 8 speakers on 2 cores); three measured none.
 *
 * With the pulse (pulse.ts), none of that runs while an announcer pulses: its
 * heirs hear a datagram every pulseIntervalMs from a native thread and check
 * nothing (but one backstop check a second). A silence of pulseSilenceMs
 * starts one confirming check at once (confirmPings direct pings and the
 * helpers together, pulseConfirmMs), and only if that fails too, with no
 * pulse meanwhile, is the verdict given: 12 + 15 = 27 ms from the last pulse
 * with the defaults. The silence stands in for the first check and
 * the confirming rounds: under 20% loss on the announcer's link it takes 3
 * pulses lost in a row (~1e-2), then its pings, its helpers' relays and the
 * 3–4 pulses of the window all lost (~0.05 × 0.05 × 2e-3). An announcer not
 * heard from (an older speaker, the pulse port blocked) is checked as before.
 */
export interface WatchConfig extends PulseConfig {
  /** Between checks of an announcer that answers. Lower finds a hang sooner; costs 2 messages per interval per watched announcer. */
  intervalMs: number;
  /** Direct ack deadline. Above a LAN round trip with a busy event loop. */
  timeoutMs: number;
  /** Deadline for an ack relayed by a helper (a helper waits timeoutMs itself, then nacks). */
  indirectTimeoutMs: number;
  /** Consecutive failed checks before the verdict (one, if the dial was refused). 3 keeps false takeovers out under 5% loss. */
  confirmRounds: number;
  /** Direct pings sent at once by confirming checks (redundancy against loss). */
  confirmPings: number;
}

export const WATCH_DEFAULTS: WatchConfig = Object.freeze({
  intervalMs: 20,
  timeoutMs: 25,
  indirectTimeoutMs: 40,
  confirmRounds: 3,
  confirmPings: 3,
  ...PULSE_DEFAULTS,
});

/**
 * While an announcer pulses, one check this often all the same: a backstop
 * should its pulse stop without a silence being reported (it cannot, by
 * design; this bounds the damage of a defect to a second, for 1 ping/s).
 */
export const PULSING_CHECK_MS = 1_000;

/** What a knock on a member's mesh port found: nothing listens (its process is gone), its kernel accepted, no answer. */
export type HostAnswer = 'refused' | 'up' | 'none';

/** Knocks on `node`'s host; `done` once, within about `timeoutMs` (the transport's knock). */
export type HostProbe = (node: string, timeoutMs: number, done: (answer: HostAnswer) => void) => void;

/** A verdict's evidence: the pulse's silence (the host silent too), a stopped or starved process, a refusal, or failed checks. */
export type Verdict = 'silence' | 'stall' | 'refused' | 'checks';

interface Watched {
  failures: number;
  failed: boolean;
  inFlight: boolean;
  timer?: Timer | undefined;
  /** Its pulses arrive: no periodic checks. */
  pulsing: boolean;
  /** A pulse of it was heard since the watch began: only then is a silence a silence. */
  heard: boolean;
  /** Its pulses stopped: the next check confirms that silence (once). */
  silence: boolean;
  /** Confirming a silence: when it began, and until when its checks may go on if its host answers (pulseStallMs). */
  silentAt?: number | undefined;
  stallUntil?: number | undefined;
  /** What a knock on its host found during the silence. */
  host?: HostAnswer | undefined;
  /**
   * No longer asked for, but failed: kept, and checked, until it answers again
   * or the mesh declares it dead. Dropping the verdict with the watch (its
   * IPs have moved on in this node's view, so it is no longer an announcer
   * here) would make it alive again here until the mesh decides: measured,
   * heirs that failed a killed announcer un-failed it, re-watched it and
   * failed it again 60 ms later, and the IP moved only then.
   */
  retired: boolean;
}

/**
 * The next candidates for an IP (its heirs) watch its announcer closely,
 * outside the membership's probe rounds, and report it failed well before the
 * mesh would declare it dead. The verdict is local — the speaker takes over
 * on it (with a higher claim epoch) — and also raises a suspicion so the mesh
 * converges on its own terms. A closed connection starts a check at once.
 */
export class FastWatch {
  readonly config: WatchConfig;
  readonly #clock: Clock;
  readonly #membership: Membership;
  readonly #pulses: Pulses | undefined;
  readonly #probeHost: HostProbe | undefined;
  readonly #watched = new Map<string, Watched>();
  readonly #listeners = new Set<(node: string, failed: boolean, via?: Verdict) => void>();

  constructor(opts: {
    clock: Clock;
    membership: Membership;
    config?: Partial<WatchConfig>;
    pulses?: Pulses;
    /** Knocks on a member's host (the transport's): after a silence, is it up? */
    probeHost?: HostProbe;
  }) {
    this.#clock = opts.clock;
    this.#membership = opts.membership;
    this.config = { ...WATCH_DEFAULTS, ...opts.config };
    this.#pulses = opts.pulses;
    this.#probeHost = opts.probeHost;
    this.#pulses?.onChange((node, event) => {
      this.#pulse(node, event);
    });
  }

  /** Replaces the set of watched members. */
  watch(nodes: Iterable<string>): void {
    const want = new Set(nodes);
    for (const [node, w] of this.#watched) {
      w.retired = !want.has(node);
      // A failed one stays (see Watched.retired); the others go.
      if (w.retired && !w.failed) this.#drop(node, w);
    }
    for (const node of want) {
      if (!this.#watched.has(node)) {
        // Its pulses may arrive already (the link kept watching it: no 'heard' event comes).
        const hearing = this.#pulseRecent(node);
        const w: Watched = {
          failures: 0,
          failed: false,
          inFlight: false,
          pulsing: hearing,
          heard: hearing,
          silence: false,
          retired: false,
        };
        this.#watched.set(node, w);
        if (hearing) this.#next(node, w, PULSING_CHECK_MS);
        else this.#check(node, w);
      }
    }
    this.#pulses?.watch(this.#watched.keys());
  }

  /** The mesh says it is dead or gone: its verdict is the mesh's now. */
  #gone(node: string): boolean {
    const state = this.#membership.stateOf(node);
    return state === undefined || state === 'dead' || state === 'left';
  }

  #drop(node: string, w: Watched): void {
    w.timer?.cancel();
    this.#watched.delete(node);
  }

  /** Watched announcers whose pulses arrive (the rest are checked every intervalMs). */
  get pulsing(): string[] {
    return [...this.#watched].filter(([, w]) => w.pulsing).map(([n]) => n);
  }

  get watching(): string[] {
    return [...this.#watched.keys()];
  }

  failed(node: string): boolean {
    return this.#watched.get(node)?.failed ?? false;
  }

  /** Whether `node` is watched and its pulses arrive (the last within pulseSilenceMs). */
  hears(node: string): boolean {
    const w = this.#watched.get(node);
    return w !== undefined && !w.failed && w.pulsing && this.#pulseRecent(node);
  }

  /** A pulse of `node` came within pulseSilenceMs, by the addon thread's time (an event may be stale). */
  #pulseRecent(node: string): boolean {
    return this.#pulses?.heardSince(node, this.#clock.now() - this.config.pulseSilenceMs) === true;
  }

  /** `via` (a verdict's evidence): the pulse's silence, a refused connection, or the failed checks. */
  onChange(listener: (node: string, failed: boolean, via?: Verdict) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A connection to `node` closed: check it now. */
  hint(node: string): void {
    const w = this.#watched.get(node);
    if (w === undefined || w.inFlight) return;
    w.timer?.cancel();
    this.#check(node, w);
  }

  /**
   * Another member suspects `node` (often another heir's verdict, spread by
   * the mesh): unless its pulses still arrive here, knock and check now
   * rather than wait for this heir's own silence. A refusal then settles it
   * at once; measured, the heir that takes over reached its own verdict on a
   * `kill -9` up to 30 ms after the first heir had.
   */
  suspected(node: string): void {
    const w = this.#watched.get(node);
    if (w === undefined || w.failed || this.hears(node)) return;
    this.#probeHost?.(node, this.config.pulseConfirmMs, () => undefined);
    this.hint(node);
  }

  stop(): void {
    for (const [node, w] of this.#watched) this.#drop(node, w);
    this.#pulses?.watch([]);
  }

  #pulse(node: string, event: PulseEvent): void {
    const w = this.#watched.get(node);
    if (w === undefined) return;
    if (event === 'heard') {
      if (!this.#pulseRecent(node)) return; // an event queued before the watch was set again
      w.pulsing = true;
      w.heard = true;
      w.silence = false;
      w.failures = 0;
      if (w.failed) this.#set(node, w, false);
      if (w.retired) {
        this.#drop(node, w);
        return;
      }
      // The pulse watches it now: a check in flight ends with only the backstop next.
      if (!w.inFlight) this.#next(node, w, PULSING_CHECK_MS);
      return;
    }
    w.pulsing = false;
    if (w.failed) return; // its checks go on, to see it come back
    // Never heard since the watch began: no pulses fell silent, its subscription
    // is not answered yet (this node just back from a cut: in CI one failed the
    // live taker on such a "silence"). The checks decide, with their rounds.
    if (!w.heard) return;
    w.silence = true;
    if (w.inFlight) return; // the next check confirms the silence
    w.timer?.cancel();
    this.#check(node, w);
  }

  #check(node: string, w: Watched): void {
    w.inFlight = true;
    // A check that confirms a silence of the pulse decides on its own, as a
    // refusal does: the silence was the first failed check. While its host
    // answers (a stopped or starved process) it may go on until pulseStallMs.
    const silence = w.silence || w.stallUntil !== undefined;
    if (w.silence && w.stallUntil === undefined) {
      w.silentAt = this.#clock.now();
      w.stallUntil = w.silentAt + this.config.pulseStallMs;
      w.host = this.#probeHost === undefined ? 'none' : undefined;
    }
    // Knock with every check of a silence: a killed process's kernel accepts
    // for a while (it frees the memory before it closes the sockets), then
    // refuses, and an heir with no connection to it sees no close to knock on.
    if (silence)
      this.#probeHost?.(node, this.config.pulseConfirmMs, (answer) => {
        // (A lost SYN after an accepted one is not a cut.)
        if (this.#watched.get(node) === w && !(answer === 'none' && w.host === 'up')) w.host = answer;
      });
    w.silence = false;
    // A confirming check sends confirmPings direct pings and asks the helpers
    // at once: the same evidence as a first check, in indirectTimeoutMs
    // instead of timeoutMs + indirectTimeoutMs.
    const confirming = w.failures > 0 || silence;
    const opts: CheckOptions = {
      pings: confirming ? this.config.confirmPings : 1,
      timeoutMs: silence ? this.config.pulseConfirmMs : this.config.timeoutMs,
      indirectTimeoutMs: silence ? this.config.pulseConfirmMs : this.config.indirectTimeoutMs,
      parallel: confirming,
    };
    const started = this.#clock.now();
    this.#membership.check(node, opts, (acked, refused) => {
      if (acked || refused) this.#settle(node, w, started, silence, acked, refused);
      // A deadline is a timer, and timers run before I/O in a turn of the
      // loop: on a busy loop an answer (an ack, a pulse's event, the knock's
      // connect) that came in time may still be waiting. Decide after it.
      else
        this.#clock.setTimeout(() => {
          this.#settle(node, w, started, silence, false, false);
        }, 0);
    });
  }

  /** A check of `node` ended; `started`: when it began; `silence`: it confirmed a silence of the pulse. */
  #settle(
    node: string,
    w: Watched,
    started: number,
    silence: boolean,
    acked: boolean,
    refused: boolean,
  ): void {
    w.inFlight = false;
    if (this.#watched.get(node) !== w) return; // no longer watched
    // Anything it sent us meanwhile (an answer to an earlier check arriving
    // late, its own ping) says it runs: slow, not hung. After a partition
    // heals, every member's loop works through the backlog, and at N = 8 on
    // 2 cores answers came 100 ms+ late for a second: checks failed three
    // in a row and the IP moved twice.
    // A pulse counts too (timed by the addon's thread: a busy loop here
    // cannot make it late).
    const heard = this.#membership.heardAt(node);
    const ok =
      acked ||
      (!refused &&
        ((heard !== undefined && heard >= started) || (this.#pulses?.heardSince(node, started) ?? false)));
    if (w.retired && (ok || this.#gone(node))) {
      if (ok && w.failed) this.#set(node, w, false);
      this.#drop(node, w);
      return;
    }
    if (ok) {
      w.failures = 0;
      w.stallUntil = undefined;
      if (w.failed) this.#set(node, w, false);
      this.#next(node, w, w.silence ? 0 : w.pulsing ? PULSING_CHECK_MS : this.config.intervalMs);
      return;
    }
    // Silent, but its host's kernel accepted a connection: the process is
    // stopped or starved of CPU, not cut off or gone. A starved one comes
    // back (measured: whole speakers descheduled for 30–100 ms on 2 cores
    // when a peer died, and failed over by a 25 ms verdict); a stopped one
    // is failed at pulseStallMs.
    // An answer not in yet waits one more check, no longer (a knock whose
    // deadline fired late on a busy loop).
    // A knock refused ends any wait: the announcer's kernel says its process is
    // gone, and loss cannot fake that. (Not a reason to wait: Lifeguard's local
    // health, which the loop's lag keeps above 0 on 2 cores: docs/election.md.)
    const now = this.#clock.now();
    const gone = w.host === 'refused';
    const waiting =
      !gone &&
      (w.host === 'up' || (w.host === undefined && now < (w.silentAt ?? 0) + 2 * this.config.pulseConfirmMs));
    if (silence && !refused && waiting && w.stallUntil !== undefined && now < w.stallUntil) {
      this.#next(node, w, 0);
      return;
    }
    const stalled = silence && w.host === 'up';
    w.stallUntil = undefined;
    // A refused connection is the peer's kernel saying its process is gone:
    // packet loss cannot fake it, so a check that was refused and that no
    // helper could get an ack through confirms on its own.
    w.failures = refused || silence ? Math.max(w.failures + 1, this.config.confirmRounds) : w.failures + 1;
    if (w.failures >= this.config.confirmRounds && !w.failed) {
      this.#set(
        node,
        w,
        true,
        refused || gone ? 'refused' : stalled ? 'stall' : silence ? 'silence' : 'checks',
      );
      this.#membership.suspect(node);
    }
    // Confirm (or keep checking a failed one, to see it come back) at once / at the interval.
    this.#next(node, w, w.failed ? this.config.intervalMs : 0);
  }

  #next(node: string, w: Watched, ms: number): void {
    w.timer?.cancel();
    w.timer = this.#clock.setTimeout(() => {
      this.#check(node, w);
    }, ms);
  }

  #set(node: string, w: Watched, failed: boolean, via?: Verdict): void {
    w.failed = failed;
    for (const l of this.#listeners) l(node, failed, via);
  }
}
