import type { Update } from './messages.ts';

interface Queued {
  update: Update;
  transmits: number;
}

/**
 * Updates waiting to ride on pings and acks (memberlist's TransmitLimitedQueue):
 * least-sent first, each sent up to `limit` times, a newer update about a
 * member replacing the queued one.
 */
export class PiggybackQueue {
  readonly #byNode = new Map<string, Queued>();

  get size(): number {
    return this.#byNode.size;
  }

  push(update: Update): void {
    this.#byNode.set(update.node, { update, transmits: 0 });
  }

  /** Takes up to `max` updates for one message, counting a transmission for each. */
  take(max: number, limit: number): Update[] {
    if (this.#byNode.size === 0 || max <= 0) return [];
    const queued = [...this.#byNode.values()].sort((a, b) => a.transmits - b.transmits).slice(0, max);
    for (const q of queued) {
      q.transmits++;
      if (q.transmits >= limit) this.#byNode.delete(q.update.node);
    }
    return queued.map((q) => q.update);
  }

  clear(): void {
    this.#byNode.clear();
  }
}
