import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock/index.ts';
import { apiCode, microTime, objectPath, type KubeClient } from './client/index.ts';

/**
 * Leader election timings, as client-go's (the same defaults and meaning).
 * A standby takes over at most leaseDurationMs + retryPeriodMs after the
 * leader stopped renewing; a leader that cannot renew for renewDeadlineMs
 * steps down first, so two leaders never write at once as long as clocks
 * run at the same rate (no clock sync is needed: expiry is measured from
 * when this process last saw the record change).
 */
export interface LeaderConfig {
  /** How long a lease is valid after its last renewal. */
  leaseDurationMs: number;
  /** The leader steps down when it could not renew for this long. Must be < leaseDurationMs. */
  renewDeadlineMs: number;
  /** Between attempts to acquire or renew. */
  retryPeriodMs: number;
}

export const LEADER_DEFAULTS: LeaderConfig = Object.freeze({
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

/** Thrown when LeaderConfig is inconsistent. */
export class LeaderConfigError extends Error {
  override name = 'LeaderConfigError';
}

export interface LeaderElectorInit {
  kube: KubeClient;
  clock: Clock;
  namespace: string;
  name: string;
  /** This process, e.g. the Pod name: unique among candidates. */
  identity: string;
  config?: Partial<LeaderConfig>;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: Logger;
}

/** What the elector last saw of the Lease, and when (this process's monotonic clock). */
interface Observed {
  holder: string | undefined;
  renewTime: string | undefined;
  seenAt: number;
}

/** Thrown when a Lease request got no answer within its bound (renewDeadlineMs; retryPeriodMs when stopping). */
export class LeaseRequestTimeoutError extends Error {
  override name = 'LeaseRequestTimeoutError';
}

/** Tries to release the Lease on stop(): a conflict (a write in between) is read again and retried. */
const RELEASE_ATTEMPTS = 3;

const TIMED_OUT = Symbol('timed out');

const isCode = (err: unknown, code: number): boolean => apiCode(err) === code;

/** client-node's types say Date for MicroTime fields; the API server's JSON has strings. */
type Lease = Omit<V1Lease, 'spec'> & {
  spec?: Omit<NonNullable<V1Lease['spec']>, 'acquireTime' | 'renewTime'> & {
    acquireTime?: string;
    renewTime?: string;
  };
};

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it:
 * create the Lease if missing, renew it while holding it, take it over when
 * its holder has not renewed for a lease duration, with the API server's
 * optimistic concurrency (resourceVersion) deciding races. start() / stop();
 * stop() releases the Lease so a standby takes over at once.
 */
export class LeaderElector {
  readonly config: LeaderConfig;
  readonly #init: LeaderElectorInit;
  /** The Lease's path. */
  readonly #path: string;
  #observed: Observed | undefined;
  #leading = false;
  /** Monotonic ms of the last successful renewal (while leading). */
  #renewedAt = 0;
  #timer: Timer | undefined;
  /** While leading: fires renewDeadlineMs after the last renewal (#armDeadline). */
  #deadline: Timer | undefined;
  /** The acquire-or-renew round in flight, if any. */
  #inflight: Promise<void> | undefined;
  #running = false;

  constructor(init: LeaderElectorInit) {
    this.config = { ...LEADER_DEFAULTS, ...init.config };
    const c = this.config;
    if (!(
      c.retryPeriodMs > 0 &&
      c.renewDeadlineMs > c.retryPeriodMs &&
      c.leaseDurationMs > c.renewDeadlineMs
    ))
      throw new LeaderConfigError(
        `need 0 < retryPeriodMs < renewDeadlineMs < leaseDurationMs, got ${c.retryPeriodMs} / ${c.renewDeadlineMs} / ${c.leaseDurationMs}`,
      );
    this.#init = init;
    this.#path = objectPath('coordination.k8s.io', 'v1', 'leases', init.namespace, init.name);
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /**
   * Stops campaigning; a leader releases the Lease (holder cleared) so a
   * standby need not wait for expiry. `release: false` leaves it to expire,
   * as a crash would.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    if (!this.#leading) return;
    this.#setLeading(false);
    if (opts.release === false) return;
    // A renewal still in flight writes the Lease after a release that read it
    // first, and the release's replace then conflicts (409): the standby
    // waited a whole lease duration (17.7 s seen on real kubelets). Let it
    // land first, for at most a retry period (a hung request must not hold
    // up the stop), and retry the release on a conflict.
    if (this.#inflight !== undefined) await this.#within(this.#inflight, this.config.retryPeriodMs);
    for (let attempt = 1; ; attempt++) {
      try {
        const lease = await this.#call(
          (timeoutMs) => this.#init.kube.get<Lease>(this.#path, { timeoutMs }),
          this.config.retryPeriodMs,
        );
        if (lease.spec?.holderIdentity !== this.#init.identity) return;
        delete lease.spec.holderIdentity;
        lease.spec.leaseDurationSeconds = 1;
        await this.#call(
          (timeoutMs) => this.#init.kube.replace(this.#path, lease, { timeoutMs }),
          this.config.retryPeriodMs,
        );
        return;
      } catch (err) {
        if (isCode(err, 409) && attempt < RELEASE_ATTEMPTS) continue;
        this.#init.log?.warn({ err, attempt }, 'could not release the lease; it expires on its own');
        return;
      }
    }
  }

  /**
   * One Lease request, given up after `ms`: renewDeadlineMs in the rounds (as
   * client-go bounds a renewal), retryPeriodMs when stopping. A request that
   * hangs (a half-open connection, a stalled API server) must not hold up the
   * rounds for good; stepping down does not wait for it (#armDeadline). A
   * slow answer within the bound still counts: a tighter bound made a leader
   * of a busy API server step down. The request itself may still complete
   * later; a late renewal only keeps the Lease ours, which the next round sees.
   * The request is also given the bound itself, so that it ends.
   */
  async #call<T>(request: (timeoutMs: number) => Promise<T>, ms = this.config.renewDeadlineMs): Promise<T> {
    const r = await this.#within(request(ms), ms);
    if (r === TIMED_OUT) throw new LeaseRequestTimeoutError(`no answer from the API server within ${ms} ms`);
    return r;
  }

  /** `p`'s value, or TIMED_OUT once `ms` passed first. */
  async #within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
    let timer: Timer | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = this.#init.clock.setTimeout(() => {
            resolve(TIMED_OUT);
          }, ms);
        }),
      ]);
    } finally {
      timer?.cancel();
    }
  }

  /**
   * While leading: steps down once renewDeadlineMs has passed since the last
   * successful renewal, whatever the rounds are doing (a local deadline, as
   * client-go's renew context).
   */
  #armDeadline(): void {
    this.#deadline?.cancel();
    if (!this.#leading) return;
    const due = this.#renewedAt + this.config.renewDeadlineMs - this.#init.clock.now();
    this.#deadline = this.#init.clock.setTimeout(
      () => {
        if (!this.#leading) return;
        if (this.#init.clock.now() - this.#renewedAt >= this.config.renewDeadlineMs) {
          this.#init.log?.warn('could not renew the lease in time: stepping down');
          this.#setLeading(false);
        } else this.#armDeadline();
      },
      Math.max(0, due),
    );
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = this.#init.clock.setTimeout(() => {
      const round = this.#round().finally(() => {
        if (this.#inflight === round) this.#inflight = undefined;
        this.#schedule(this.config.retryPeriodMs);
      });
      this.#inflight = round;
    }, ms);
  }

  async #round(): Promise<void> {
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#init.log?.warn({ err }, 'leader election round failed');
    }
    // Stopped while the round was in flight: a late success must not make a stopped elector lead.
    if (!this.#running) return;
    // A failed round changes nothing here: #armDeadline steps a leader down.
    if (ok) {
      this.#renewedAt = this.#init.clock.now();
      if (!this.#leading) this.#setLeading(true);
      this.#armDeadline();
    }
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    if (!leading) this.#deadline?.cancel();
    this.#init.log?.info({ identity: this.#init.identity, leading }, leading ? 'leading' : 'not leading');
    if (leading) this.#init.onStartedLeading();
    else this.#init.onStoppedLeading();
  }

  /** One attempt; true when this process holds the Lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    if (!this.#running) return false;
    const { name, namespace, identity } = this.#init;
    const now = this.#init.clock.now();
    const stamp = microTime(this.#init.clock.wallNow());
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000),
      renewTime: stamp,
    };
    let lease: Lease;
    try {
      lease = await this.#call((timeoutMs) => this.#init.kube.get<Lease>(this.#path, { timeoutMs }));
    } catch (err) {
      if (!isCode(err, 404)) throw err;
      try {
        await this.#call((timeoutMs) =>
          this.#init.kube.create(
            objectPath('coordination.k8s.io', 'v1', 'leases', namespace),
            {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name, namespace },
              spec: { ...spec, acquireTime: stamp, leaseTransitions: 0 },
            },
            { timeoutMs },
          ),
        );
        this.#observed = { holder: identity, renewTime: stamp, seenAt: now };
        return true;
      } catch (e) {
        if (isCode(e, 409)) return false; // another candidate created it first
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity;
    const renewTime = lease.spec?.renewTime;
    let seen = this.#observed;
    if (seen === undefined || seen.holder !== holder || seen.renewTime !== renewTime) {
      seen = { holder, renewTime, seenAt: now };
      this.#observed = seen;
    }
    const held = holder !== undefined && holder !== '' && holder !== identity;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (held && now - seen.seenAt < durationMs) return false; // someone else, still valid
    const mine = holder === identity;
    const old = lease.spec;
    lease.spec = {
      ...spec,
      acquireTime: (mine ? old?.acquireTime : undefined) ?? stamp,
      leaseTransitions: (old?.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
    try {
      await this.#call((timeoutMs) => this.#init.kube.replace(this.#path, lease, { timeoutMs })); // resourceVersion: optimistic
    } catch (err) {
      if (isCode(err, 409)) return false; // someone else won this round
      throw err;
    }
    this.#observed = { holder: identity, renewTime: stamp, seenAt: now };
    return true;
  }
}
