import { performance } from 'node:perf_hooks';
import { type Clock, type Timer, delayOf, sleepOn } from './clock.ts';

/**
 * The real clock. Timers are unref'd: a pending protocol timer never keeps a
 * process alive on its own (lifecycle objects own their shutdown).
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
    handle.unref();
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
