import { setTimeout as delay } from 'node:timers/promises';
import { KeepalivedTimeoutError } from './errors.ts';

/**
 * Polls `check` every `everyMs` until it returns a value other than undefined,
 * and throws KeepalivedTimeoutError naming `what` once `timeoutMs` has passed.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new KeepalivedTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}
