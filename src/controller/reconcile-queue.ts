/**
 * The controller's queue of Services to reconcile. Decisions are taken one at
 * a time, in queue order (a task's synchronous part, the allocator's decision,
 * runs before the next task starts); the status writes that follow run up to
 * `maxInFlight` at once, never two for one key (a key whose task is in flight
 * stays queued for the next round). A key queued again while queued is
 * reconciled once.
 */
export interface ReconcileQueueInit {
  maxInFlight: number;
  /** Reconciles `key`; undefined when there is nothing to do (the object is gone). */
  run: (key: string) => Promise<void> | undefined;
  /** Work is taken only while this holds (the controller leads and has restored its table). */
  active: () => boolean;
  /** After each drain (the pools' status may have changed). */
  drained: () => void;
  /** A task that threw. */
  failed: (err: unknown, key: string) => void;
}

export class ReconcileQueue {
  readonly #init: ReconcileQueueInit;
  readonly #queue = new Set<string>();
  /** Tasks under way, by key. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #flushing = false;

  constructor(init: ReconcileQueueInit) {
    this.#init = init;
  }

  add(key: string): void {
    if (!this.#init.active()) return;
    this.#queue.add(key);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      void this.#flush();
    });
  }

  /** Forgets what is queued (tasks under way finish). */
  clear(): void {
    this.#queue.clear();
  }

  async #flush(): Promise<void> {
    const { maxInFlight, active } = this.#init;
    try {
      while (this.#queue.size > 0 && active()) {
        for (const key of this.#queue) {
          if (this.#inFlight.has(key)) continue; // stays queued for the next round
          this.#queue.delete(key);
          const running = this.#init.run(key);
          if (running === undefined) continue;
          const task = running
            .catch((err: unknown) => {
              this.#init.failed(err, key);
            })
            .finally(() => this.#inFlight.delete(key));
          this.#inFlight.set(key, task);
          while (this.#inFlight.size >= maxInFlight) await Promise.race(this.#inFlight.values());
        }
        if (this.#inFlight.size > 0) await Promise.race(this.#inFlight.values());
      }
      await Promise.all(this.#inFlight.values());
    } finally {
      this.#flushing = false;
    }
    const next = [...this.#queue][0];
    if (next !== undefined && active()) this.add(next);
    this.#init.drained();
  }
}
