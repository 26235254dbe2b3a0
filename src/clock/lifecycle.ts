/**
 * One lifecycle for every long-lived part of meshlb (libp2p's `Startable`,
 * reduced to what we use): `start()` arms what the part runs on (timers,
 * sockets, watches, listeners); `stop()` disarms all of it, so that after it
 * no callback of the part runs again. Both are idempotent: stopping a part
 * that never started, or twice, is a no-op.
 *
 * A process (the speaker, the controller) is a list of such parts, started in
 * order and stopped in the reverse order: `startAll` and `stopAll`.
 */
import type { Clock, Timer } from './clock.ts';

export interface Startable {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** A part with nothing to start (abort pending requests, stop a loop another part started). */
export function stopOnly(stop: () => void | Promise<void>): Startable {
  return { start: () => undefined, stop };
}

/**
 * Starts `parts` in order. If one throws, it is stopped (what its own start
 * opened: a wire that opened one interface of two) and so are the ones
 * started before it, in reverse, their own errors ignored (the first failure
 * is the news); then the error is thrown again.
 */
export async function startAll(parts: readonly Startable[]): Promise<void> {
  const touched: Startable[] = [];
  try {
    for (const p of parts) {
      touched.push(p);
      await p.start();
    }
  } catch (err) {
    await stopAll(touched).catch(() => undefined);
    throw err;
  }
}

/**
 * Stops `parts` in the reverse order. Every part is stopped even if an
 * earlier one throws; then the errors are thrown, one as itself, several as
 * an AggregateError.
 */
export async function stopAll(parts: readonly Startable[]): Promise<void> {
  const errors: unknown[] = [];
  for (const p of [...parts].reverse()) {
    try {
      await p.stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} parts failed to stop`);
}

/**
 * The timers one part has armed and not yet seen fire: `cancelAll()` in its
 * `stop()` is what makes "no callback runs after stop" true. A timer leaves
 * the set when it fires or is cancelled.
 */
export class OwnedTimers {
  readonly #clock: Pick<Clock, 'setTimeout'>;
  readonly #armed = new Set<Timer>();

  constructor(clock: Pick<Clock, 'setTimeout'>) {
    this.#clock = clock;
  }

  /** Runs `fn` once, `ms` from now, unless cancelled (itself, or by cancelAll) first. */
  after(ms: number, fn: () => void): Timer {
    const timer = this.#clock.setTimeout(() => {
      this.#armed.delete(timer);
      fn();
    }, ms);
    this.#armed.add(timer);
    return {
      cancel: () => {
        this.#armed.delete(timer);
        timer.cancel();
      },
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  get size(): number {
    return this.#armed.size;
  }

  cancelAll(): void {
    for (const t of this.#armed) t.cancel();
    this.#armed.clear();
  }
}
