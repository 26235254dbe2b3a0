import type { Clock } from '../clock/index.ts';

/**
 * Settings of the patch-war guard. A "foreign change" is another field
 * manager changing a Service's load-balancer fields (spec.loadBalancerIP, the
 * IP annotations, status.loadBalancer) after meshlb wrote them.
 */
export interface OscillationConfig {
  /** Foreign changes within windowMs that make it a war. 3: one is an edit, two a correction, three a loop. */
  changes: number;
  /** The window. 60 s: a human edits far less often; a controller loop far more. */
  windowMs: number;
  /**
   * First pause in writing to that Service. Doubles each time the war resumes.
   * 5 s: a Service is back to normal (written, its condition cleared) within
   * seconds of a rival stopping, while a rival that goes on gets ever longer pauses.
   */
  initialBackoffMs: number;
  /** Longest pause. 30 min: a rival that never stops costs one write per half hour. */
  maxBackoffMs: number;
}

export const OSCILLATION_DEFAULTS: OscillationConfig = Object.freeze({
  changes: 3,
  windowMs: 60_000,
  initialBackoffMs: 5_000,
  maxBackoffMs: 30 * 60_000,
});

/** What the guard says about one Service. */
export type Verdict =
  | { readonly write: true }
  | {
      readonly write: false;
      /** Monotonic ms when writing may resume, if the Service stays quiet until then. */
      readonly until: number;
      readonly backoffMs: number;
    };

interface Entry {
  /** Monotonic ms of recent foreign changes (within windowMs). */
  changes: number[];
  /** Pausing writes until this time (monotonic ms); 0 when not pausing. */
  until: number;
  /** The current (or last) pause; 0 before the first war. */
  pauseMs: number;
  /** The pause that the next war gets. */
  backoffMs: number;
}

/**
 * Detects a patch war on a Service and pauses meshlb's writes to it: after
 * `changes` foreign changes within `windowMs`, writes stop for a backoff that
 * doubles every time the war goes on, up to `maxBackoffMs`. A foreign change
 * during the pause extends it (the rival is still at it); a Service quiet for
 * the whole pause is written again, and a single foreign change within
 * `windowMs` after that resumes the war with the doubled pause; quiet for
 * maxBackoffMs after a pause, the backoff starts from the beginning. Pure: a
 * Clock, no I/O.
 */
export class OscillationGuard {
  readonly config: OscillationConfig;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  constructor(clock: Clock, config: Partial<OscillationConfig> = {}) {
    this.config = { ...OSCILLATION_DEFAULTS, ...config };
    this.#clock = clock;
  }

  /**
   * Another manager changed the Service's load-balancer fields. Returns true
   * when this change started a pause (the caller sets a condition and emits
   * one Event), false otherwise.
   */
  foreignChange(key: string): boolean {
    const now = this.#clock.now();
    const e = this.#entry(key, now);
    e.changes = e.changes.filter((t) => now - t < this.config.windowMs);
    e.changes.push(now);
    if (e.until > now) {
      // Still at war: the pause restarts from this change.
      e.until = now + e.pauseMs;
      return false;
    }
    // Within a window of the last pause's end, one change is the war resuming (a rival
    // that undoes each of meshlb's writes): pause again at once, for twice as long.
    const resumed = e.pauseMs > 0 && now - e.until < this.config.windowMs;
    if (!resumed && e.changes.length < this.config.changes) return false;
    e.pauseMs = e.backoffMs;
    e.until = now + e.pauseMs;
    e.backoffMs = Math.min(e.backoffMs * 2, this.config.maxBackoffMs);
    e.changes = [];
    return true;
  }

  /** May meshlb write this Service now? */
  verdict(key: string): Verdict {
    const now = this.#clock.now();
    const e = this.#entries.get(key);
    if (e === undefined || e.until <= now) return { write: true };
    return { write: false, until: e.until, backoffMs: e.until - now };
  }

  /** True while writes to the Service are paused. */
  paused(key: string): boolean {
    return !this.verdict(key).write;
  }

  /** The Service is gone. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  #entry(key: string, now: number): Entry {
    let e = this.#entries.get(key);
    if (e !== undefined && e.until <= now && e.pauseMs > 0 && now - e.until > this.config.maxBackoffMs) {
      // Quiet for a long time since its last war: start over.
      e = undefined;
    }
    if (e === undefined) {
      e = { changes: [], until: 0, pauseMs: 0, backoffMs: this.config.initialBackoffMs };
      this.#entries.set(key, e);
    }
    return e;
  }
}
