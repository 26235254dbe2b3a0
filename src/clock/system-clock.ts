import { performance } from 'node:perf_hooks';
import { type Clock, type Timer, delayOf, sleepOn } from './clock.ts';

/**
 * The real clock. Timers keep the process alive like plain `setTimeout` (an
 * awaited `sleep` must not let the process exit under it); lifecycle objects
 * cancel their timers in `stop()`.
 */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const handle = globalThis.setTimeout(fn, delayOf(ms));
    return {
      cancel: () => {
        globalThis.clearTimeout(handle);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}

export const systemClock: Clock = new SystemClock();
