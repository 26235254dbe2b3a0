/**
 * One asynchronous sync at a time, run `delayMs` after the first request of a
 * burst: every request until it fires is served by that one run, and a request
 * made while a run is under way makes one more run after it. The status
 * writers' loop (pools, advertisements): a burst of 1,000 changes costs one
 * pass over the objects, not 1,000.
 */
import type { Clock, Timer } from '../clock/index.ts';

export class DelayedSync {
  readonly #clock: Clock;
  readonly #delayMs: number;
  readonly #run: () => Promise<void>;
  #timer: Timer | undefined;
  #running = false;
  #again = false;
  #active = false;

  constructor(clock: Clock, delayMs: number, run: () => Promise<void>) {
    this.#clock = clock;
    this.#delayMs = delayMs;
    this.#run = run;
  }

  /** Requests are served from now on (until stop). */
  start(): void {
    this.#active = true;
  }

  /** No more runs: the timer is cancelled, a run under way finishes and is not repeated. */
  stop(): void {
    this.#active = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** A run `delayMs` from the first request of a burst. */
  request(): void {
    if (this.#timer !== undefined || !this.#active) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.now();
    }, this.#delayMs);
  }

  /** A run now (or, if one is under way, once more after it). */
  async now(): Promise<void> {
    if (!this.#active) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.#run();
      } while (this.#repeat());
    } finally {
      this.#running = false;
    }
  }

  /** A method: TypeScript's narrowing cannot see that the await may change the fields. */
  #repeat(): boolean {
    return this.#again && this.#active;
  }
}
