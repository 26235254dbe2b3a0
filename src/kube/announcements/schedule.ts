import type { Clock } from '../../clock/index.ts';
import type { IPAnnouncement } from '../api/index.ts';
import { BURST, MAX_RETRY_MS, MIN_INTERVAL_MS, RETRY_MS, WRITES_PER_SECOND } from './constants.ts';
import {
  classify,
  KIND_PRIORITY,
  normalise,
  serviceKey,
  type AnnouncementEntry,
  type DesiredAnnouncement,
  type ServiceRef,
  type WriteKind,
} from './entries.ts';

export interface ScheduleInit {
  clock: Clock;
  /** At most one write per Service per this many ms (default 1 s). */
  minIntervalMs?: number;
  /** Global budget: writes per second (default 20). */
  writesPerSecond?: number;
  /** Global budget: tokens the bucket holds (default 40). */
  burst?: number;
  /** First retry delay after a failure (default 1 s), doubled per failure up to `maxRetryMs` (30 s). */
  retryMs?: number;
  maxRetryMs?: number;
}

/** One write to make now: the whole of this node's entries for the Service. */
export interface PlannedWrite {
  readonly key: string;
  readonly service: ServiceRef;
  readonly entries: readonly IPAnnouncement[];
  readonly kind: WriteKind;
}

/**
 * How a planned write ended. `requests` counts the API writes it took (a first
 * announcement takes two: create, then status); each beyond the first is charged to
 * the budget. `gone`: the Service (that uid) no longer exists; it is not written again
 * until it comes back under another uid.
 */
export type WriteOutcome =
  | { result: 'written'; requests: number }
  | { result: 'failed'; requests: number }
  | { result: 'gone'; requests: number };

/** What to do next: a write, or wait this long and ask again, or nothing (idle). */
export type Next = { write: PlannedWrite } | { waitMs: number } | undefined;

interface State {
  service: ServiceRef;
  desired: IPAnnouncement[];
  /** What is known to be in the object from this node; undefined when unknown (nothing). */
  written: IPAnnouncement[] | undefined;
  lastWriteAt: number;
  /** Since when the current difference is pending (FIFO within a priority). */
  pendingSince: number;
  inFlight: boolean;
  failures: number;
  retryAt: number;
  /** The uid found gone: no writes while the desired Service has it. */
  goneUid: string | undefined;
}

/**
 * The pure core of the ServiceAnnouncement writer: given what this node announces
 * (`replace`) and what it wrote (`done`), decides which Service to write and when.
 * Changes coalesce per Service; at most one write per Service per `minIntervalMs`;
 * a token bucket bounds writes across Services; takeovers go before withdrawals,
 * withdrawals before updates; nothing is written when nothing changed. No I/O, no
 * timers: `next()` says how long to wait.
 */
export class AnnouncementSchedule {
  readonly #clock: Clock;
  readonly #minIntervalMs: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  readonly #states = new Map<string, State>();
  #tokens: number;
  #refilledAt: number;

  constructor(init: ScheduleInit) {
    this.#clock = init.clock;
    this.#minIntervalMs = init.minIntervalMs ?? MIN_INTERVAL_MS;
    this.#rate = init.writesPerSecond ?? WRITES_PER_SECOND;
    this.#burst = init.burst ?? BURST;
    this.#retryMs = init.retryMs ?? RETRY_MS;
    this.#maxRetryMs = init.maxRetryMs ?? MAX_RETRY_MS;
    this.#tokens = this.#burst;
    this.#refilledAt = this.#clock.now();
  }

  /** This node's whole desired set: Services left out are withdrawn (if anything was written). */
  replace(desired: readonly DesiredAnnouncement[]): void {
    const seen = new Set<string>();
    for (const d of desired) {
      const key = serviceKey(d.service);
      seen.add(key);
      this.#set(key, d.service, d.entries);
    }
    for (const [key, s] of this.#states) if (!seen.has(key)) this.#set(key, s.service, []);
  }

  /** Sets one Service's entries (none = withdraw), leaving the others as they are. */
  set(desired: DesiredAnnouncement): void {
    this.#set(serviceKey(desired.service), desired.service, desired.entries);
  }

  /** Records entries found in the cluster as written by this node (after a restart). */
  adopt(service: ServiceRef, entries: readonly AnnouncementEntry[]): void {
    const s = this.#state(serviceKey(service), service);
    s.written = normalise(entries);
    this.#touch(serviceKey(service), s);
  }

  /** Services whose object differs from what this node wants in it. */
  get pending(): number {
    let n = 0;
    for (const s of this.#states.values()) if (this.#kind(s) !== undefined) n++;
    return n;
  }

  /** Writes planned and not yet `done`. */
  get inFlight(): number {
    let n = 0;
    for (const s of this.#states.values()) if (s.inFlight) n++;
    return n;
  }

  /** Services tracked (bounded by those announced or with something to withdraw). */
  get size(): number {
    return this.#states.size;
  }

  /**
   * The next write, charged to the budget and marked in flight until `done`; or how
   * long to wait before anything can be written; or undefined when nothing is pending
   * (or everything pending is in flight).
   */
  next(): Next {
    const now = this.#clock.now();
    this.#refill(now);
    let best: { key: string; s: State; kind: WriteKind } | undefined;
    let earliest = Infinity;
    for (const [key, s] of this.#states) {
      if (s.inFlight) continue;
      const kind = this.#kind(s);
      if (kind === undefined) continue;
      const at = Math.max(s.lastWriteAt + this.#minIntervalMs, s.retryAt);
      if (at > now) {
        earliest = Math.min(earliest, at);
        continue;
      }
      if (
        best === undefined ||
        KIND_PRIORITY[kind] < KIND_PRIORITY[best.kind] ||
        (KIND_PRIORITY[kind] === KIND_PRIORITY[best.kind] && s.pendingSince < best.s.pendingSince)
      )
        best = { key, s, kind };
    }
    if (best !== undefined) {
      if (this.#tokens < 1) return { waitMs: Math.ceil(((1 - this.#tokens) * 1000) / this.#rate) };
      this.#tokens -= 1;
      best.s.inFlight = true;
      best.s.lastWriteAt = now;
      return { write: { key: best.key, service: best.s.service, entries: best.s.desired, kind: best.kind } };
    }
    return earliest === Infinity ? undefined : { waitMs: earliest - now };
  }

  /** Reports how a write from `next()` ended. */
  done(write: PlannedWrite, outcome: WriteOutcome): void {
    const s = this.#states.get(write.key);
    this.#tokens -= Math.max(0, outcome.requests - 1);
    if (s === undefined) return;
    s.inFlight = false;
    const now = this.#clock.now();
    switch (outcome.result) {
      case 'written':
        s.failures = 0;
        s.retryAt = 0;
        if (s.service.uid === write.service.uid) s.written = [...write.entries];
        break;
      case 'failed':
        s.retryAt = now + Math.min(this.#maxRetryMs, this.#retryMs * 2 ** s.failures);
        s.failures++;
        break;
      case 'gone':
        if (s.service.uid === write.service.uid) {
          s.goneUid = write.service.uid;
          s.written = undefined;
        }
        break;
    }
    this.#touch(write.key, s);
  }

  #set(key: string, service: ServiceRef, entries: readonly AnnouncementEntry[]): void {
    const s = this.#state(key, service);
    if (s.service.uid !== service.uid) {
      // Another incarnation of the Service: another object, nothing of ours in it.
      s.service = service;
      s.written = undefined;
      s.failures = 0;
      s.retryAt = 0;
    }
    const before = this.#kind(s);
    s.desired = normalise(entries);
    if (before === undefined) s.pendingSince = this.#clock.now();
    this.#touch(key, s);
  }

  #state(key: string, service: ServiceRef): State {
    let s = this.#states.get(key);
    if (s === undefined) {
      s = {
        service,
        desired: [],
        written: undefined,
        lastWriteAt: -Infinity,
        pendingSince: this.#clock.now(),
        inFlight: false,
        failures: 0,
        retryAt: 0,
        goneUid: undefined,
      };
      this.#states.set(key, s);
    }
    return s;
  }

  #kind(s: State): WriteKind | undefined {
    if (s.goneUid === s.service.uid) return undefined;
    return classify(s.desired, s.written);
  }

  /** Forgets a Service with nothing desired, nothing written and nothing in flight. */
  #touch(key: string, s: State): void {
    const idle = !s.inFlight && s.desired.length === 0 && (s.written ?? []).length === 0;
    if (idle && (s.lastWriteAt + this.#minIntervalMs <= this.#clock.now() || s.written === undefined))
      this.#states.delete(key);
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#rate) / 1000);
    this.#refilledAt = now;
  }
}
