import type { Clock, Timer } from '../clock/index.ts';

/**
 * Lifeguard's dynamic suspicion (memberlist suspicion.go): the timeout starts
 * at `max` and falls toward `min` as independent accusers confirm, on a log
 * curve, reaching `min` at `k` confirmations:
 *
 *   timeout(c) = max(min, max − (max − min) · log(c + 1) / log(k + 1))
 *
 * A lone accuser with a bad link waits long (time for the suspect to refute);
 * many accusers agree fast.
 */
export class Suspicion {
  readonly #clock: Clock;
  readonly #start: number;
  readonly #min: number;
  readonly #max: number;
  readonly #k: number;
  readonly #accusers = new Set<string>();
  readonly #onTimeout: () => void;
  #timer: Timer | undefined;
  #done = false;

  constructor(
    clock: Clock,
    opts: { from: string; k: number; min: number; max: number; onTimeout: () => void },
  ) {
    this.#clock = clock;
    this.#start = clock.now();
    this.#min = opts.min;
    this.#max = opts.max;
    this.#k = opts.k;
    this.#onTimeout = opts.onTimeout;
    this.#accusers.add(opts.from);
    this.#schedule();
  }

  /** Independent confirmations so far (accusers other than the first). */
  get confirmations(): number {
    return this.#accusers.size - 1;
  }

  get accusers(): readonly string[] {
    return [...this.#accusers];
  }

  /** The current timeout, measured from when the suspicion started. */
  timeout(): number {
    return suspicionTimeout(this.confirmations, this.#k, this.#min, this.#max);
  }

  /** Records another accuser; returns true if it was new (and the timeout may have shrunk). */
  confirm(from: string): boolean {
    if (this.#done || this.#accusers.has(from) || this.confirmations >= this.#k) return false;
    this.#accusers.add(from);
    this.#schedule();
    return true;
  }

  cancel(): void {
    this.#done = true;
    this.#timer?.cancel();
  }

  #schedule(): void {
    this.#timer?.cancel();
    const remaining = this.#start + this.timeout() - this.#clock.now();
    this.#timer = this.#clock.setTimeout(() => {
      if (this.#done) return;
      this.#done = true;
      this.#onTimeout();
    }, remaining);
  }
}

export function suspicionTimeout(confirmations: number, k: number, min: number, max: number): number {
  if (k < 1) return min;
  const frac = Math.log(confirmations + 1) / Math.log(k + 1);
  return Math.max(min, max - (max - min) * frac);
}
