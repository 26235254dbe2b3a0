import type { Clock, Timer } from '../../clock/index.ts';
import { sleepOn } from '../../clock/index.ts';

/**
 * One simulated member's view of the shared virtual clock. While the member is
 * stalled (its event loop blocked: GC, SIGSTOP) nothing of it runs: timers due
 * meanwhile and messages that arrive are held, and at the end of the stall the
 * held timers run first, then the held messages, as Node's event loop runs its
 * timers phase before polling I/O.
 */
export class MemberClock implements Clock {
  readonly #base: Clock;
  #stalledUntil = -1;
  #heldTimers: (() => void)[] = [];
  #heldIo: (() => void)[] = [];
  #wake: Timer | undefined;

  constructor(base: Clock) {
    this.#base = base;
  }

  now(): number {
    return this.#base.now();
  }

  wallNow(): number {
    return this.#base.wallNow();
  }

  get stalled(): boolean {
    return this.#base.now() < this.#stalledUntil;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    let cancelled = false;
    const t = this.#base.setTimeout(() => {
      if (cancelled) return;
      if (this.stalled)
        this.#heldTimers.push(() => {
          if (!cancelled) fn();
        });
      else fn();
    }, ms);
    return {
      cancel: () => {
        cancelled = true;
        t.cancel();
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Runs I/O work now, or holds it until the stall ends. */
  io(fn: () => void): void {
    if (this.stalled) this.#heldIo.push(fn);
    else fn();
  }

  /** Blocks this member's event loop for `ms` from now. */
  stall(ms: number): void {
    const until = this.#base.now() + ms;
    if (until <= this.#stalledUntil) return;
    this.#stalledUntil = until;
    this.#wake?.cancel();
    this.#wake = this.#base.setTimeout(() => {
      this.#wake = undefined;
      const timers = this.#heldTimers;
      const io = this.#heldIo;
      this.#heldTimers = [];
      this.#heldIo = [];
      for (const fn of timers) fn();
      for (const fn of io) fn();
    }, ms);
  }
}
