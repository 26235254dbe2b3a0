import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock/index.ts';
import {
  Allocator,
  assignmentOrder,
  serviceKey,
  type Decision,
  type PoolCounts,
  type ServiceView,
} from '../kube/allocator/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool } from '../kube/api/index.ts';
import { objectPath, type KubeClient } from '../kube/client/index.ts';
import { EventRecorder } from '../kube/events.ts';
import { SupervisedInformer } from '../kube/informer.ts';
import { LeaderElector, type LeaderConfig } from '../kube/leader.ts';
import { OscillationGuard, type OscillationConfig } from '../kube/oscillation.ts';
import { CONTROLLER_MANAGER, ingressIps, ownsLoadBalancerStatus, toServiceView } from '../kube/views.ts';
import { PoolBook } from './pool-book.ts';
import { ReconcileQueue } from './reconcile-queue.ts';
import { emptyStats, type ControllerStats } from './stats.ts';
import { AdvertisementReporter } from './advertisement-reporter.ts';
import { DelayedSync } from './delayed-sync.ts';
import { StatusApplier } from './status-applier.ts';
import { PAUSED_CONDITION, StatusWriter } from './status.ts';

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
 * The load-balancer fields whose change by someone else counts towards a patch
 * war: spec.loadBalancerIP, the IP / pool / sharing annotations, the ingress IPs
 * (`ips` replaces those of `svc`, for the state a write of ours produces).
 */
function fingerprint(svc: V1Service, ips: readonly string[] = ingressIps(svc)): string {
  const a = svc.metadata?.annotations ?? {};
  const requested = Object.entries(a).filter(([k]) => /loadBalancerIPs|address-pool|allow-shared-ip/.test(k));
  return JSON.stringify([svc.spec?.loadBalancerIP ?? null, requested, ips]);
}

/**
 * Status writes in flight at most. 16: a burst of 1,000 new Services is
 * written in a few seconds (one write is ~10 ms of API server time) without
 * crowding out other clients of the API server.
 */
const MAX_WRITES = 16;

/**
 * How long pool status lags the allocations. 1 s: `kubectl get ippools` stays
 * current to a person, and a burst of changes becomes one write per pool.
 */
const POOL_STATUS_DELAY_MS = 1_000;

/** The ingress IPs meshlb's field manager owns (undefined: none), to keep them in an apply. */
const ownedIngress = (svc: V1Service): string[] | undefined =>
  ownsLoadBalancerStatus(svc.metadata?.managedFields, CONTROLLER_MANAGER) ? ingressIps(svc) : undefined;

/** The Service still carries meshlb's WritesPaused condition. */
const showsPause = (svc: V1Service): boolean =>
  (svc.status?.conditions ?? []).some((c) => c.type === PAUSED_CONDITION && c.status === 'True');

const keyOf = (svc: V1Service): string => `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;

/**
 * The controller: assigns IPs from IPPools to LoadBalancer Services and writes
 * their status, and nothing else (it never decides who announces). Only the
 * leader (a Lease) works. On becoming leader it lists pools and Services and
 * rebuilds its allocation table from the statuses it owns before assigning
 * anything, so a restart never moves an IP. It never overwrites a status
 * another manager owns, and it stops writing to a Service that another
 * controller keeps changing (OscillationGuard), with an Event and a condition.
 */
export class Controller {
  readonly #init: ControllerInit;
  readonly #elector: LeaderElector;
  readonly #events: EventRecorder;
  readonly #writer: StatusWriter;
  readonly #guard: OscillationGuard;
  #allocator: Allocator;
  #services: SupervisedInformer<V1Service> | undefined;
  #namespaces: SupervisedInformer<V1Namespace> | undefined;
  #pools: SupervisedInformer<IPPool> | undefined;
  /** Reconciling has started (after the restore). */
  #ready = false;
  /** Services to reconcile (reconcile-queue.ts). */
  readonly #queue: ReconcileQueue;
  /** Last fingerprint seen per Service, and the one our own last write produces. */
  readonly #seen = new Map<string, string>();
  readonly #intended = new Map<string, string>();
  /**
   * IPs written whose echo the informer has not delivered yet: a reconcile in
   * that gap would see the old status and write again.
   */
  readonly #unechoed = new Map<string, string>();
  readonly #pausedSince = new Map<string, Date>();
  /** Services whose WritesPaused condition we cleared, until the informer's copy shows it gone. */
  readonly #pauseCleared = new Set<string>();
  readonly #resumeTimers = new Map<string, Timer>();
  readonly #stats: ControllerStats = emptyStats();
  readonly #statusApplier: StatusApplier;
  readonly #advertisements: AdvertisementReporter;
  /** The pools parsed, refused and reported (pool-book.ts). */
  readonly #poolBook: PoolBook;
  /**
   * Pool statuses (counts, conditions) are written POOL_STATUS_DELAY_MS after
   * the change that made them stale, once for all changes in between: a burst
   * of 1,000 new Services costs one write per pool, not one per Service.
   */
  readonly #poolSync: DelayedSync;

  constructor(init: ControllerInit) {
    this.#init = init;
    this.#allocator = new Allocator({ pools: [], loadBalancerClass: init.loadBalancerClass });
    this.#events = new EventRecorder({
      kube: init.kube,
      clock: init.clock,
      instance: init.identity,
      ...(init.log === undefined ? {} : { log: init.log }),
    });
    this.#writer = new StatusWriter(init.kube);
    this.#statusApplier = new StatusApplier(init.kube, init.log);
    this.#poolBook = new PoolBook({
      clock: init.clock,
      applier: this.#statusApplier,
      onWrite: (r) => {
        this.#stats.apiWrites['ippools/status'][r]++;
      },
      log: init.log,
    });
    this.#poolSync = new DelayedSync(init.clock, POOL_STATUS_DELAY_MS, () =>
      this.#poolBook.writeStatuses(
        this.#pools?.list() ?? [],
        this.#allocator.counts(),
        this.#allocator.table(),
      ),
    );
    this.#advertisements = new AdvertisementReporter({
      kube: init.kube,
      clock: init.clock,
      namespace: init.namespace,
      applier: this.#statusApplier,
      onWrite: (r) => {
        this.#stats.apiWrites['l2advertisements/status'][r]++;
      },
      ...(init.log === undefined ? {} : { log: init.log }),
    });
    this.#guard = new OscillationGuard(init.clock, init.oscillation);
    this.#queue = new ReconcileQueue({
      maxInFlight: MAX_WRITES,
      active: () => this.#ready,
      run: (key) => {
        const [namespace, name] = key.split('/');
        const svc = this.#services?.get(name ?? '', namespace);
        return svc === undefined ? undefined : this.#reconcile(key, svc);
      },
      failed: (err, key) => init.log?.error({ err, service: key }, 'reconcile failed'),
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
        void this.#standDown();
      },
      ...(init.log === undefined ? {} : { log: init.log }),
    });
  }

  get leading(): boolean {
    return this.#elector.leading;
  }

  /** True once the leader restored its table and reconciles. */
  get ready(): boolean {
    return this.#ready;
  }

  stats(): ControllerStats {
    return structuredClone(this.#stats);
  }

  /** Assigned and available addresses per pool, per family; empty unless leading and ready. */
  pools(): PoolCounts[] {
    return this.#ready ? this.#allocator.counts() : [];
  }

  start(): void {
    this.#elector.start();
  }

  /** Stops; `release: false` leaves the Lease to expire, as a crash would. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    await this.#elector.stop(opts);
    await this.#standDown();
  }

  async #lead(): Promise<void> {
    const { kube, clock, log } = this.#init;
    const base = { client: kube, clock, ...(log === undefined ? {} : { log }) };
    this.#namespaces = new SupervisedInformer<V1Namespace>({
      ...base,
      path: '/api/v1/namespaces',
      onAdd: () => undefined,
      onUpdate: (ns) => {
        for (const s of this.#services?.list() ?? [])
          if (s.metadata?.namespace === ns.metadata?.name) this.#queue.add(keyOf(s));
      },
      onDelete: () => undefined,
    });
    this.#pools = new SupervisedInformer<IPPool>({
      ...base,
      path: objectPath(GROUP, VERSION, PLURALS.IPPool),
      onAdd: () => {
        this.#poolsChanged();
      },
      onUpdate: (p) => {
        // Our own status writes update pools too: only a spec change (a new generation) matters.
        if (this.#poolBook.changed(p)) this.#poolsChanged();
      },
      onDelete: (p) => {
        // One created again under this name must get its status written.
        this.#statusApplier.forget('IPPool', p.metadata.name ?? '');
        this.#poolsChanged();
      },
    });
    this.#services = new SupervisedInformer<V1Service>({
      ...base,
      path: '/api/v1/services',
      onAdd: (s) => {
        this.#observe(s);
      },
      onUpdate: (s) => {
        this.#observe(s);
      },
      onDelete: (s) => {
        this.#deleted(s);
      },
    });
    const informers = [this.#namespaces, this.#pools, this.#services];
    for (const i of informers) await i.start();
    await this.#advertisements.start();
    // The table is rebuilt from the whole of the Services: a list that failed
    // (the API server busy, RBAC being fixed) is retried with backoff, and
    // restoring from a partial cache would let a new Service take an IP that
    // an unlisted one holds. Wait for every first list.
    const complete = await Promise.all(informers.map((i) => i.listed));
    if (!complete.every(Boolean) || !this.#elector.leading || this.#services !== informers[2]) return;
    // Restart safety: the table first, from the statuses we own; then reconcile.
    this.#allocator = new Allocator({
      pools: this.#poolBook.views(this.#pools.list()),
      loadBalancerClass: this.#init.loadBalancerClass,
    });
    const report = this.#allocator.restore(this.#services.list().map((s) => this.#view(s)));
    log?.info(
      {
        restored: report.restored,
        conflicts: report.conflicts.slice(0, 20),
        invalid: report.invalid.slice(0, 20),
        outsidePool: report.outsidePool.length,
      },
      'allocation table restored',
    );
    this.#stats.restoreConflicts += report.conflicts.length;
    this.#ready = true;
    // Oldest first (requests first): the queue keeps this order, and each decision is
    // taken before the next, so of two Services that asked for one IP while no
    // controller ran, the older gets it, whatever order the list came in.
    for (const v of assignmentOrder(this.#services.list().map((s) => this.#view(s))))
      this.#queue.add(serviceKey(v));
    this.#poolSync.start();
    void this.#poolSync.now();
  }

  async #standDown(): Promise<void> {
    this.#ready = false;
    this.#queue.clear();
    for (const t of this.#resumeTimers.values()) t.cancel();
    this.#poolSync.stop();
    this.#resumeTimers.clear();
    const informers = [this.#services, this.#pools, this.#namespaces];
    this.#services = this.#pools = this.#namespaces = undefined;
    for (const i of informers) await i?.stop();
    await this.#advertisements.stop();
  }

  #poolsChanged(): void {
    const pools = this.#pools?.list() ?? [];
    this.#poolBook.seen(pools);
    if (!this.#ready) return;
    this.#allocator.setPools(this.#poolBook.views(pools));
    for (const s of this.#services?.list() ?? []) this.#queue.add(keyOf(s));
    this.#poolSync.request();
  }

  /**
   * The allocator's view of a Service. Its status IPs are those of the
   * informer's copy, except right after a write of ours whose echo has not
   * arrived yet: then what we wrote (the copy is stale, and an allocator fed
   * the old status would take the IPs back and hand them out again).
   */
  #view(svc: V1Service): ServiceView {
    const ns = this.#namespaces?.get(svc.metadata?.namespace ?? '');
    const view = toServiceView(svc, ns?.metadata?.labels ?? {});
    const written = this.#unechoed.get(keyOf(svc));
    return written === undefined ? view : { ...view, currentIPs: JSON.parse(written) as string[] };
  }

  /** A Service was added or changed: was it someone else changing its load-balancer fields? */
  #observe(svc: V1Service): void {
    const key = keyOf(svc);
    const fp = fingerprint(svc);
    const before = this.#seen.get(key);
    this.#seen.set(key, fp);
    if (JSON.stringify(ingressIps(svc)) === this.#unechoed.get(key)) this.#unechoed.delete(key);
    if (!showsPause(svc)) this.#pauseCleared.delete(key);
    if (before !== undefined && fp !== before && fp !== this.#intended.get(key)) {
      this.#unechoed.delete(key);
      this.#foreign(key, svc);
    }
    this.#queue.add(key);
  }

  #foreign(key: string, svc: V1Service): void {
    if (!this.#guard.foreignChange(key)) return;
    this.#stats.oscillationBreaks++;
    const since = new Date(this.#init.clock.wallNow());
    this.#pausedSince.set(key, since);
    this.#stats.pausedServices = this.#pausedSince.size;
    const verdict = this.#guard.verdict(key);
    const seconds = verdict.write ? 0 : Math.round(verdict.backoffMs / 1000);
    this.#event(
      svc,
      'Warning',
      'PatchWarDetected',
      'Pause',
      `another controller keeps changing this Service's load-balancer fields; meshlb stops writing to it for ${seconds} s`,
    );
    // The condition, keeping whatever ingress we still own (an apply without it would give it up).
    const paused = { message: `patch war: writes paused for ${seconds} s`, since };
    void this.#write(svc, { ips: ownedIngress(svc), paused }, true);
  }

  #deleted(svc: V1Service): void {
    const key = keyOf(svc);
    const released = this.#allocator.release(serviceKey(this.#view(svc)));
    this.#init.log?.debug({ service: key, released }, 'Service deleted');
    this.#seen.delete(key);
    this.#intended.delete(key);
    this.#unechoed.delete(key);
    this.#pausedSince.delete(key);
    this.#pauseCleared.delete(key);
    this.#stats.writes.delete(key); // per live Service: a deleted one's count would stay forever
    this.#guard.forget(key);
    this.#events.forget(svc.metadata?.uid ?? '');
  }

  async #reconcile(key: string, svc: V1Service): Promise<void> {
    const verdict = this.#guard.verdict(key);
    if (!verdict.write) {
      this.#resumeAt(key, verdict.until);
      return;
    }
    const view = this.#view(svc);
    const d: Decision = this.#allocator.assign(view);
    this.#init.log?.trace({ service: key, current: view.currentIPs, decision: d }, 'decided');
    // The pause is over: whatever the decision, the condition must go (it also
    // stays on the Service across a controller restart, hence the status check).
    const resumed = this.#pausedSince.delete(key) || (showsPause(svc) && !this.#pauseCleared.has(key));
    const cleared = (ok: boolean): void => {
      if (resumed && ok) this.#pauseCleared.add(key);
    };
    switch (d.kind) {
      case 'ignored':
        // Not ours (any more): give up what we wrote, if anything (the condition with it).
        if (d.released.length > 0 || resumed) cleared(await this.#write(svc, { ips: undefined }));
        return;
      case 'failed':
        this.#stats.allocationFailures[d.reason] = (this.#stats.allocationFailures[d.reason] ?? 0) + 1;
        this.#event(svc, 'Warning', d.reason, 'Allocate', d.message);
        // Nothing to assign, but the condition goes; the ingress we own, if any, stays.
        if (resumed) cleared(await this.#write(svc, { ips: ownedIngress(svc) }));
        return;
      case 'assigned': {
        if (d.outsidePool.length > 0)
          this.#event(
            svc,
            'Warning',
            'IPOutsidePool',
            'Allocate',
            `${d.outsidePool.join(', ')} no longer in any pool; kept, not moved`,
          );
        const pending = this.#unechoed.get(key) === JSON.stringify(d.ips);
        if ((d.unchanged || pending) && !resumed) return;
        const result = await this.#write(svc, { ips: d.ips });
        cleared(result);
        if (result) this.#unechoed.set(key, JSON.stringify(d.ips));
        if (!result || d.unchanged) return;
        this.#stats.allocations++;
        this.#event(
          svc,
          'Normal',
          'IPAllocated',
          'Allocate',
          `assigned ${d.ips.join(', ')} from pool ${d.pool ?? '(none)'}`,
        );
        return;
      }
    }
  }

  /** Returns true on success. A conflict counts as someone else's change. */
  async #write(
    svc: V1Service,
    intent: Parameters<StatusWriter['apply']>[1],
    quiet = false,
  ): Promise<boolean> {
    const key = keyOf(svc);
    if (!this.#ready) return false; // no longer the leader: only a leader writes
    this.#stats.writes.set(key, (this.#stats.writes.get(key) ?? 0) + 1);
    if (intent.ips !== undefined) this.#intended.set(key, fingerprint(svc, intent.ips));
    const r = await this.#writer.apply(svc, intent);
    this.#stats.apiWrites['services/status'][r.ok ? 'ok' : r.conflict ? 'conflict' : 'error']++;
    this.#init.log?.debug({ service: key, ips: intent.ips, ok: r.ok }, 'status written');
    if (r.ok) return true;
    if (r.conflict) {
      this.#stats.conflicts++;
      this.#event(
        svc,
        'Warning',
        'StatusOwnedByOther',
        'Allocate',
        'another controller owns status.loadBalancer; meshlb does not overwrite it',
      );
      if (!quiet) this.#foreign(key, svc);
    } else {
      this.#init.log?.warn({ err: r.error, service: key }, 'status write failed');
    }
    return false;
  }

  /** Reconcile again when a pause ends (nothing else would trigger it if the rival went quiet). */
  #resumeAt(key: string, until: number): void {
    this.#resumeTimers.get(key)?.cancel();
    this.#resumeTimers.set(
      key,
      this.#init.clock.setTimeout(
        () => {
          this.#resumeTimers.delete(key);
          this.#queue.add(key);
        },
        until - this.#init.clock.now() + 1,
      ),
    );
  }

  #event(svc: V1Service, type: 'Normal' | 'Warning', reason: string, action: string, note: string): void {
    const meta = svc.metadata ?? {};
    this.#events.record({
      regarding: {
        apiVersion: 'v1',
        kind: 'Service',
        namespace: meta.namespace ?? '',
        name: meta.name ?? '',
        ...(meta.uid === undefined ? {} : { uid: meta.uid }),
      },
      type,
      reason,
      action,
      note,
    });
  }
}
