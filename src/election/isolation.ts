/**
 * The isolation rule: a speaker that can reach neither a majority of the
 * members it knows nor the API server stops announcing after `graceMs`.
 * Otherwise a node cut off from its peers (a partition, a dead switch port)
 * would keep answering for IPs the rest of the cluster has moved.
 *
 * - majority: members alive or suspect in its own view (itself included)
 *   are more than half of all it knows (alive, suspect, dead);
 * - API server: a request succeeded within the last `graceMs`.
 *
 * In a 2-node cluster a majority is both nodes, so a node that loses its
 * peer relies on the API server alone: it keeps announcing while it reaches
 * the API server (the peer may have died), and stops `graceMs` after it
 * reaches neither (it is the one cut off, or everything is down).
 */
export interface IsolationConfig {
  /**
   * How long a speaker may be isolated before it stops announcing. Longer
   * than a blip of the API server or a single lost push-pull; shorter than
   * the time a client tolerates two answering nodes. Default 3 s.
   */
  graceMs: number;
}

export const ISOLATION_DEFAULTS: IsolationConfig = Object.freeze({ graceMs: 3_000 });

export interface Reachability {
  /** Monotonic ms. */
  now: number;
  /** Members alive or suspect in this speaker's view, itself included. */
  reachable: number;
  /** Members it knows (alive, suspect, dead), itself included. */
  known: number;
  /** Monotonic ms of the last successful API request, if any. */
  apiOkAt: number | undefined;
}

export class IsolationGuard {
  readonly config: IsolationConfig;
  #isolatedSince: number | undefined;

  constructor(config: Partial<IsolationConfig> = {}) {
    this.config = { ...ISOLATION_DEFAULTS, ...config };
  }

  /** Whether this speaker may announce; call on every change and periodically. */
  mayAnnounce(r: Reachability): boolean {
    const majority = r.reachable * 2 > r.known;
    const api = r.apiOkAt !== undefined && r.now - r.apiOkAt <= this.config.graceMs;
    if (majority || api) {
      this.#isolatedSince = undefined;
      return true;
    }
    this.#isolatedSince ??= r.now;
    return r.now - this.#isolatedSince < this.config.graceMs;
  }

  /** When the speaker became isolated (undefined when it is not). */
  get isolatedSince(): number | undefined {
    return this.#isolatedSince;
  }
}
