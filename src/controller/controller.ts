import type { Logger } from 'pino';
import { startAll, stopAll, type Clock, type Startable } from '../clock/index.ts';
import type { PoolCounts } from '../kube/allocator/index.ts';
import type { KubeClient } from '../kube/client/index.ts';
import { EventRecorder } from '../kube/events.ts';
import { LeaderElector, type LeaderConfig } from '../kube/leader.ts';
import type { OscillationConfig } from '../kube/oscillation.ts';
import { AdvertisementReporter } from './advertisement-reporter.ts';
import { DelayedSync } from './delayed-sync.ts';
import { LeaderTerm } from './leader-term.ts';
import { PoolBook } from './pool-book.ts';
import { ServiceReconciler } from './service-reconciler.ts';
import { emptyStats, type ControllerStats } from './stats.ts';
import { StatusApplier } from './status-applier.ts';

export interface ControllerInit {
  kube: KubeClient;
  clock: Clock;
  /** This process (the Pod name): the Lease holder identity and the Events' reportingInstance. */
  identity: string;
  /** Namespace of the leader-election Lease (the controller's own). */
  namespace: string;
  /** Serve Services of this loadBalancerClass only; unset: Services without a class. */
  loadBalancerClass?: string | undefined;
  leader?: Partial<LeaderConfig>;
  oscillation?: Partial<OscillationConfig>;
  log?: Logger;
}

/**
 * How long pool status lags the allocations. 1 s: `kubectl get ippools` stays
 * current to a person, and a burst of changes becomes one write per pool.
 */
const POOL_STATUS_DELAY_MS = 1_000;

/**
 * The controller: assigns IPs from IPPools to LoadBalancer Services and writes
 * their status, and nothing else (it never decides who announces). Only the
 * leader (a Lease) works. On becoming leader it lists pools and Services and
 * rebuilds its allocation table from the statuses it owns before assigning
 * anything, so a restart never moves an IP. It never overwrites a status
 * another manager owns, and it stops writing to a Service that another
 * controller keeps changing (OscillationGuard), with an Event and a condition.
 *
 * It is a list of parts (clock/lifecycle.ts), started in order and stopped in
 * the reverse order: the elector, and the current leader term (leader-term.ts),
 * which the elector begins and ends.
 */
export class Controller {
  readonly #init: ControllerInit;
  readonly #elector: LeaderElector;
  readonly #stats: ControllerStats = emptyStats();
  readonly #applier: StatusApplier;
  readonly #advertisements: AdvertisementReporter;
  /** The pools parsed, refused and reported (pool-book.ts). */
  readonly #poolBook: PoolBook;
  /**
   * Pool statuses (counts, conditions) are written POOL_STATUS_DELAY_MS after
   * the change that made them stale, once for all changes in between: a burst
   * of 1,000 new Services costs one write per pool, not one per Service.
   */
  readonly #poolSync: DelayedSync;
  /** The table, the queue and the writes to Services (service-reconciler.ts). */
  readonly #reconciler: ServiceReconciler;
  /** The current (or last) leader term. */
  #term: LeaderTerm | undefined;
  /** How stop() stops the elector (`release: false`: the Lease expires, as after a crash). */
  #stopOpts: { release?: boolean } = {};
  /** The parts, in start order (stopped in the reverse order). */
  readonly #parts: readonly Startable[];

  constructor(init: ControllerInit) {
    this.#init = init;
    const events = new EventRecorder({
      kube: init.kube,
      clock: init.clock,
      instance: init.identity,
      ...(init.log === undefined ? {} : { log: init.log }),
    });
    this.#applier = new StatusApplier(init.kube, init.log);
    this.#poolBook = new PoolBook({
      clock: init.clock,
      applier: this.#applier,
      onWrite: (r) => {
        this.#stats.apiWrites['ippools/status'][r]++;
      },
      log: init.log,
    });
    this.#poolSync = new DelayedSync(init.clock, POOL_STATUS_DELAY_MS, () =>
      this.#poolBook.writeStatuses(
        this.#term?.pools.list() ?? [],
        this.#reconciler.allocator.counts(),
        this.#reconciler.allocator.table(),
      ),
    );
    this.#advertisements = new AdvertisementReporter({
      kube: init.kube,
      clock: init.clock,
      namespace: init.namespace,
      applier: this.#applier,
      onWrite: (r) => {
        this.#stats.apiWrites['l2advertisements/status'][r]++;
      },
      ...(init.log === undefined ? {} : { log: init.log }),
    });
    this.#reconciler = new ServiceReconciler({
      ...init,
      stats: this.#stats,
      events,
      caches: () => this.#term,
      drained: () => {
        this.#poolSync.request();
      },
    });
    this.#elector = new LeaderElector({
      kube: init.kube,
      clock: init.clock,
      namespace: init.namespace,
      name: 'meshlb-controller',
      identity: init.identity,
      ...(init.leader === undefined ? {} : { config: init.leader }),
      onStartedLeading: () => {
        this.#lead().catch((err: unknown) => init.log?.error({ err }, 'could not start leading'));
      },
      onStoppedLeading: () => {
        void this.#term?.stop();
      },
      ...(init.log === undefined ? {} : { log: init.log }),
    });
    this.#parts = [
      // The leader's work: a term begins when the elector wins the Lease, and
      // the current one ends after the elector stopped.
      { start: () => undefined, stop: () => this.#term?.stop() },
      {
        start: () => {
          this.#elector.start();
        },
        stop: () => this.#elector.stop(this.#stopOpts),
      },
    ];
  }

  get leading(): boolean {
    return this.#elector.leading;
  }

  /** True once the leader restored its table and reconciles. */
  get ready(): boolean {
    return this.#reconciler.ready;
  }

  stats(): ControllerStats {
    return structuredClone(this.#stats);
  }

  /** Assigned and available addresses per pool, per family; empty unless leading and ready. */
  pools(): PoolCounts[] {
    return this.#reconciler.ready ? this.#reconciler.allocator.counts() : [];
  }

  async start(): Promise<void> {
    await startAll(this.#parts);
  }

  /** Stops; `release: false` leaves the Lease to expire, as a crash would. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopOpts = opts;
    await stopAll(this.#parts);
  }

  /** A new term: its own informers; the reconciler and the status writers carry over. */
  async #lead(): Promise<void> {
    const term = new LeaderTerm({
      ...this.#init,
      poolBook: this.#poolBook,
      applier: this.#applier,
      advertisements: this.#advertisements,
      poolSync: this.#poolSync,
      reconciler: this.#reconciler,
      leading: (): boolean => this.#elector.leading && this.#term === term,
    });
    this.#term = term;
    await term.start();
  }
}
