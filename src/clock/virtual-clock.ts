import { type Clock, type Timer, delayOf, sleepOn } from './clock.ts';

interface Entry {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Thrown when a virtual clock runs more timers than its safety limit allows. */
export class TimerLimitError extends Error {
  override name = 'TimerLimitError';
}

/**
 * A clock that moves only when told. Timers fire in (due time, creation order),
 * with `now()` set to each timer's due time while it runs, so a callback that
 * reschedules itself sees exactly the time it would on a real loop.
 *
 * `advance` is synchronous and fires callbacks only; `advanceAsync` also lets
 * promise continuations run between timers, for code that awaits `sleep`.
 * Backed by a binary heap: the simulator keeps tens of thousands of timers.
 */
export class VirtualClock implements Clock {
  #now: number;
  readonly #epoch: number;
  #seq = 0;
  readonly #heap: Entry[] = [];
  #live = 0;

  constructor(opts: { start?: number; epoch?: number } = {}) {
    this.#now = opts.start ?? 0;
    this.#epoch = opts.epoch ?? Date.UTC(2026, 0, 1);
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#epoch + this.#now;
  }

  /** Number of timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.#live;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const entry: Entry = { due: this.#now + delayOf(ms), seq: this.#seq++, fn, cancelled: false };
    this.#push(entry);
    this.#live++;
    return {
      cancel: () => {
        if (!entry.cancelled) {
          entry.cancelled = true;
          this.#live--;
        }
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Due time of the next live timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.due;
  }

  /**
   * Moves time forward by `ms`, firing every timer due by then (including ones
   * scheduled by callbacks along the way). Returns how many fired.
   */
  advance(ms: number, limit = 10_000_000): number {
    return this.runUntil(this.#now + delayOf(ms), limit);
  }

  /** Like `advance`, but to an absolute virtual time. */
  runUntil(target: number, limit = 10_000_000): number {
    let fired = 0;
    for (;;) {
      const entry = this.#popDue(target);
      if (entry === undefined) break;
      if (++fired > limit) throw new TimerLimitError(`more than ${limit} timers fired before t=${target}`);
      entry.fn();
    }
    if (target > this.#now) this.#now = target;
    return fired;
  }

  /**
   * `advance` for async code: after each timer, lets queued promise jobs and
   * immediates run before the next timer, so `await clock.sleep()` chains
   * progress exactly as on a real loop.
   */
  async advanceAsync(ms: number, limit = 10_000_000): Promise<number> {
    const target = this.#now + delayOf(ms);
    let fired = 0;
    await settle();
    for (;;) {
      const entry = this.#popDue(target);
      if (entry === undefined) break;
      if (++fired > limit) throw new TimerLimitError(`more than ${limit} timers fired before t=${target}`);
      entry.fn();
      await settle();
    }
    if (target > this.#now) this.#now = target;
    return fired;
  }

  #popDue(target: number): Entry | undefined {
    this.#dropCancelled();
    const top = this.#heap[0];
    if (top === undefined || top.due > target) return undefined;
    this.#pop();
    this.#live--;
    if (top.due > this.#now) this.#now = top.due;
    return top;
  }

  #dropCancelled(): void {
    while (this.#heap[0]?.cancelled === true) this.#pop();
  }

  static #before(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(entry: Entry): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Entry;
      if (!VirtualClock.#before(entry, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = entry;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const rc = h[r];
      let c = l;
      if (rc !== undefined && VirtualClock.#before(rc, h[l] as Entry)) c = r;
      const child = h[c] as Entry;
      if (!VirtualClock.#before(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}

/** Lets pending promise jobs and one round of immediates run. */
function settle(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(resolve);
  });
}
