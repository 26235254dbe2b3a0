import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `check` every `everyMs` until it returns something other than
 * undefined or false, and returns that; returns undefined once `timeoutMs`
 * has passed (`check` runs at least once). The one polling loop of the
 * harnesses: callers that must fail on a timeout throw their own error.
 */
export async function poll<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) return undefined;
    await delay(everyMs);
  }
}
