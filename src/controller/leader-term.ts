/**
 * One term of the controller as leader, one part (clock/lifecycle.ts): it
 * watches the Namespaces, IPPools and Services (and starts the advertisement
 * reporter), waits for every first list, restores the allocation table, and
 * only then reconciles and writes pool statuses. stop() stops all of it in the
 * reverse order. A new term (new informers) begins at each election.
 */
import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { startAll, stopAll, type Clock, type Startable } from '../clock/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool } from '../kube/api/index.ts';
import { objectPath, type KubeClient } from '../kube/client/index.ts';
import { SupervisedInformer } from '../kube/informer.ts';
import type { DelayedSync } from './delayed-sync.ts';
import type { PoolBook } from './pool-book.ts';
import { keyOf, type LeaderCaches, type ServiceReconciler } from './service-reconciler.ts';
import type { StatusApplier } from './status-applier.ts';

export interface LeaderTermInit {
  kube: KubeClient;
  clock: Clock;
  log?: Logger | undefined;
  poolBook: PoolBook;
  applier: StatusApplier;
  /** L2Advertisement statuses (advertisement-reporter.ts): started with the informers. */
  advertisements: Startable;
  /** Pool statuses, written after changes (controller.ts). */
  poolSync: DelayedSync;
  reconciler: ServiceReconciler;
  /** Still the leader: a term that lost the Lease while it listed goes no further. */
  leading: () => boolean;
}

export class LeaderTerm implements Startable, LeaderCaches {
  readonly namespaces: SupervisedInformer<V1Namespace>;
  readonly pools: SupervisedInformer<IPPool>;
  readonly services: SupervisedInformer<V1Service>;
  readonly #init: LeaderTermInit;
  /** The informers and the advertisement reporter, then the work that needs the table restored. */
  readonly #watches: readonly Startable[];
  readonly #work: readonly Startable[];
  #stopped: Promise<void> | undefined;

  constructor(init: LeaderTermInit) {
    this.#init = init;
    const { kube, clock, log, reconciler } = init;
    const base = { client: kube, clock, ...(log === undefined ? {} : { log }) };
    this.namespaces = new SupervisedInformer<V1Namespace>({
      ...base,
      path: '/api/v1/namespaces',
      onAdd: () => undefined,
      onUpdate: (ns) => {
        for (const s of this.services.list())
          if (s.metadata?.namespace === ns.metadata?.name) reconciler.add(keyOf(s));
      },
      onDelete: () => undefined,
    });
    this.pools = new SupervisedInformer<IPPool>({
      ...base,
      path: objectPath(GROUP, VERSION, PLURALS.IPPool),
      onAdd: () => {
        this.#poolsChanged();
      },
      onUpdate: (p) => {
        // Our own status writes update pools too: only a spec change (a new generation) matters.
        if (init.poolBook.changed(p)) this.#poolsChanged();
      },
      onDelete: (p) => {
        // One created again under this name must get its status written.
        init.applier.forget('IPPool', p.metadata.name ?? '');
        this.#poolsChanged();
      },
    });
    this.services = new SupervisedInformer<V1Service>({
      ...base,
      path: '/api/v1/services',
      onAdd: (s) => {
        reconciler.observe(s);
      },
      onUpdate: (s) => {
        reconciler.observe(s);
      },
      onDelete: (s) => {
        reconciler.deleted(s);
      },
    });
    this.#watches = [this.namespaces, this.pools, this.services, init.advertisements];
    this.#work = [init.poolSync, reconciler];
  }

  async start(): Promise<void> {
    const { reconciler, poolBook, poolSync } = this.#init;
    await startAll(this.#watches);
    // The table is rebuilt from the whole of the Services: a list that failed
    // (the API server busy, RBAC being fixed) is retried with backoff, and
    // restoring from a partial cache would let a new Service take an IP that
    // an unlisted one holds. Wait for every first list.
    const informers = [this.namespaces, this.pools, this.services];
    const complete = await Promise.all(informers.map((i) => i.listed));
    if (!complete.every(Boolean) || !this.#init.leading() || this.#stopped !== undefined) return;
    reconciler.restore(poolBook.views(this.pools.list()), this.services.list());
    await startAll(this.#work);
    void poolSync.now();
  }

  /** Stops everything the term started, in the reverse order (once: a second call waits for the first). */
  stop(): Promise<void> {
    this.#stopped ??= stopAll([...this.#watches, ...this.#work]);
    return this.#stopped;
  }

  #poolsChanged(): void {
    const { poolBook, reconciler } = this.#init;
    const pools = this.pools.list();
    poolBook.seen(pools);
    if (!reconciler.ready) return;
    reconciler.allocator.setPools(poolBook.views(pools));
    for (const s of this.services.list()) reconciler.add(keyOf(s));
    this.#init.poolSync.request();
  }
}
