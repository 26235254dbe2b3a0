/**
 * Time as the pure cores see it. Every protocol timer in meshlb goes through a
 * `Clock`, so the same code runs on the real event loop in production and on a
 * `VirtualClock` in tests and the simulator, where hours pass in milliseconds.
 */

/** A scheduled callback. `cancel()` is idempotent and safe after it fired. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional). Only differences are meaningful. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch, for timestamps people read. */
  wallNow(): number;
  /** Runs `fn` once, `ms` from now (negative or NaN delays count as 0). */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function delayOf(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** Shared `sleep` in terms of `setTimeout`, for any Clock implementation. */
export function sleepOn(clock: Pick<Clock, 'setTimeout'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  const { promise, resolve, reject } = Promise.withResolvers<undefined>();
  const onAbort = (): void => {
    timer.cancel();
    reject(signal?.reason as Error);
  };
  const timer = clock.setTimeout(() => {
    signal?.removeEventListener('abort', onAbort);
    resolve(undefined);
  }, ms);
  signal?.addEventListener('abort', onAbort, { once: true });
  return promise;
}
