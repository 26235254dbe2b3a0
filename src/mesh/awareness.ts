/**
 * Lifeguard local health ("awareness"): a score from 0 (healthy) to max. When
 * our own probes fail without the helpers' nacks, when we must refute a
 * suspicion of ourselves, or when our event loop lags, the score rises and all
 * our probe timers stretch by (score + 1): a sick member slows down instead of
 * accusing healthy ones. Successful probes bring it back down.
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get score(): number {
    return this.#score;
  }

  apply(delta: number): number {
    this.#score = Math.min(this.#max, Math.max(0, this.#score + delta));
    return this.#score;
  }

  /** Scale a timeout by our health: (score + 1) × ms. */
  scale(ms: number): number {
    return ms * (this.#score + 1);
  }
}
