import { poll } from '../poll.ts';
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
  const v = await poll(check, timeoutMs, everyMs);
  if (v === undefined)
    throw new KeepalivedTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return v;
}
