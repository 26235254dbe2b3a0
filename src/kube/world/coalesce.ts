/** Schedules `run` once, soon; returns a function that cancels it. */
export type Schedule = (run: () => void) => () => void;

/** After the current turn of the event loop (every watch event already read is handled first). */
export const afterIo: Schedule = (run) => {
  const handle = setImmediate(run);
  return () => {
    clearImmediate(handle);
  };
};

/**
 * Turns many requests into one call: `request()` any number of times within a
 * turn of the event loop (a re-list delivers hundreds of objects at once) and
 * `fn` runs once, after it. Requests made while `fn` runs schedule one more call.
 * No timers, no polling.
 */
export class Coalescer {
  readonly #fn: () => void;
  readonly #schedule: Schedule;
  #cancel: (() => void) | undefined;
  #stopped = false;
  #running = false;

  constructor(fn: () => void, schedule: Schedule = afterIo) {
    this.#fn = fn;
    this.#schedule = schedule;
  }

  /** Whether a call is scheduled. */
  get pending(): boolean {
    return this.#cancel !== undefined;
  }

  request(): void {
    if (this.#stopped || this.#cancel !== undefined) return;
    this.#cancel = this.#schedule(() => {
      this.#cancel = undefined;
      this.#run();
    });
  }

  /**
   * Runs `fn` now instead of after the turn (a scheduled call is dropped): for
   * the one request that must not wait behind the rest of the turn's I/O.
   * Called from inside `fn` itself, it only requests.
   */
  now(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.request();
      return;
    }
    this.#cancel?.();
    this.#cancel = undefined;
    this.#run();
  }

  #run(): void {
    if (this.#stopped) return;
    this.#running = true;
    try {
      this.#fn();
    } finally {
      this.#running = false;
    }
  }

  /** Drops a scheduled call and ignores later requests. */
  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
