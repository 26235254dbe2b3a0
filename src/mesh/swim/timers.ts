/**
 * The protocol's timers, owned in one place so that stop() cancels every one
 * of them: repeating loops whose period is re-read on every turn (awareness
 * and the cluster's size change it), and one-shot timers that tell their
 * callback whether they fired late (our event loop lagged: the answers may be
 * waiting unread behind it). Nothing armed here runs after stop().
 */
import { type Clock, OwnedTimers, type Startable, type Timer } from '../../clock/index.ts';

export interface MeshTimersInit {
  clock: Clock;
  random: () => number;
  /** A timer that fires later than this (ms) counts as lagged. */
  lagToleranceMs: number;
  /** A timer fired late (Lifeguard: our own health is in doubt). */
  onLag: () => void;
  /** A loop's tick threw: the loop goes on. */
  onLoopError: (err: unknown) => void;
}

export class MeshTimers implements Startable {
  readonly #init: MeshTimersInit;
  readonly #owned: OwnedTimers;
  #running = false;

  constructor(init: MeshTimersInit) {
    this.#init = init;
    this.#owned = new OwnedTimers(init.clock);
  }

  /** Between start() and stop(): timers fire their callbacks. */
  get running(): boolean {
    return this.#running;
  }

  start(): void {
    this.#running = true;
  }

  stop(): void {
    this.#running = false;
    this.#owned.cancelAll();
  }

  /** A repeating timer whose period is re-read every time, jittered ±10%. */
  loop(period: () => number, fn: () => void): void {
    const arm = (): void => {
      this.#owned.after(period() * (0.9 + 0.2 * this.#init.random()), () => {
        if (!this.#running) return;
        // A tick that throws (a transport or claim store bug, a malformed
        // record) must not end the loop for good: the member would stop
        // probing and syncing while looking alive. Count it, report it, go on.
        try {
          fn();
        } catch (err) {
          this.#init.onLoopError(err);
        }
        arm();
      });
    };
    arm();
  }

  /**
   * A waiter's deadline (a probe's, a check's): fired late (our event loop was
   * busy: the answers may be waiting unread behind it), it waits
   * lagToleranceMs once more before `fn` runs, unless `postpone()` says no.
   * Nothing runs once `done()`. Each timer it arms goes to `armed`, which the
   * waiter keeps to cancel on an answer.
   */
  deadline(
    ms: number,
    fn: () => void,
    opts: { done: () => boolean; armed: (t: Timer) => void; postpone?: () => boolean },
  ): void {
    let postponed = false;
    const fire = (lagged: boolean): void => {
      if (opts.done()) return;
      if (lagged && !postponed && (opts.postpone?.() ?? true)) {
        postponed = true;
        opts.armed(this.after(this.#init.lagToleranceMs, fire));
        return;
      }
      fn();
    };
    opts.armed(this.after(ms, fire));
  }

  /** A one-shot timer that tells its callback whether it fired late. */
  after(ms: number, fn: (lagged: boolean) => void): Timer {
    const due = this.#init.clock.now() + ms;
    return this.#owned.after(ms, () => {
      const lagged = this.#init.clock.now() - due > this.#init.lagToleranceMs;
      if (lagged) this.#init.onLag();
      if (this.#running) fn(lagged);
    });
  }
}
