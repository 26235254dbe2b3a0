/**
 * The pace of rebalancing moves (docs/configuration.md, `rebalanceIntervalMs`).
 * A move the load bound asks for (cause `rebalance`) is planned and
 * make-before-break: this node takes the address (claim, gratuitous ARP/NA)
 * while its holder still answers, and the holder stops once the claim reaches
 * it. This node takes at most one such address per interval, so that a node
 * back from a restart fills up at a pace the clients' and switches' caches
 * follow, each move confirmed before the next; the ones that wait are neither
 * claimed nor answered (their holder keeps them meanwhile), and a reconcile
 * is asked for when the next may go.
 */
import { type Clock, OwnedTimers, type Startable } from '../clock/index.ts';

/** The default of `rebalanceIntervalMs`: four moves a second per node (1,000 addresses onto 100 nodes: ~3 s). */
export const REBALANCE_INTERVAL_MS = 250;

export class RebalancePacer implements Startable {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #reconcile: () => void;
  readonly #timers: OwnedTimers;
  #last: number | undefined;
  #armed = false;
  #stopped = false;

  constructor(init: { clock: Clock; intervalMs: number; reconcile: () => void }) {
    this.#clock = init.clock;
    this.#intervalMs = init.intervalMs;
    this.#reconcile = init.reconcile;
    this.#timers = new OwnedTimers(init.clock);
  }

  start(): void {
    this.#stopped = false;
  }

  stop(): void {
    this.#stopped = true;
    this.#timers.cancelAll();
    this.#armed = false;
  }

  /**
   * Of `ips` (this reconcile's rebalancing takes, in decision order), the ones
   * this node takes now; for the rest, a reconcile when the next one may go.
   */
  admit(ips: readonly string[]): Set<string> {
    if (this.#intervalMs === 0) return new Set(ips); // no pacing
    const now = this.#clock.now();
    const due = this.#last === undefined ? now : this.#last + this.#intervalMs;
    const out = new Set<string>();
    const first = ips[0];
    if (first !== undefined && now >= due) {
      out.add(first);
      this.#last = now;
    }
    if (ips.length > out.size && !this.#armed && !this.#stopped) {
      this.#armed = true;
      const wait = Math.max(0, (this.#last ?? now) + this.#intervalMs - now);
      this.#timers.after(wait, () => {
        this.#armed = false;
        this.#reconcile();
      });
    }
    return out;
  }
}
