import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock/index.ts';
import {
  Allocator,
  assignmentOrder,
  partitionPools,
  serviceKey,
  type Decision,
  type FailureReason,
  type PoolCounts,
  type PoolView,
  type ServiceView,
} from '../kube/allocator/index.ts';
import { formatRange, parseIp } from '../ip/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool } from '../kube/api/index.ts';
import { objectPath, type KubeClient } from '../kube/client/index.ts';
import { EventRecorder } from '../kube/events.ts';
import { SupervisedInformer } from '../kube/informer.ts';
import { LeaderElector, type LeaderConfig } from '../kube/leader.ts';
import { OscillationGuard, type OscillationConfig } from '../kube/oscillation.ts';
import {
  CONTROLLER_MANAGER,
  ingressIps,
  ownsLoadBalancerStatus,
  toPoolView,
  toServiceView,
} from '../kube/views.ts';
import { poolStatus, poolStatusKey, type PoolVerdict } from './pool-status.ts';
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

/** Results of API writes, per resource. */
export interface WriteCounts {
  ok: number;
  /** Refused: another field manager owns the field (409). */
  conflict: number;
  error: number;
}

/** Counters for metrics and tests (src/metrics reads them at scrape time). */
export interface ControllerStats {
  /** Status writes attempted, per Service key (conflicts included); a deleted Service's entry goes with it. */
  writes: Map<string, number>;
  /** Status writes refused because another manager owns status.loadBalancer. */
  conflicts: number;
  pausedServices: number;
  /** New or changed IP assignments written to a Service's status. */
  allocations: number;
  /** Reconciles that left a Service's request unmet, by reason. */
  allocationFailures: Partial<Record<FailureReason, number>>;
  /** Status IPs a restore could not take back: an older Service holds them. */
  restoreConflicts: number;
  /** Patch wars detected (writes to a Service paused). */
  oscillationBreaks: number;
  /** API writes by resource and result (pool statuses only when they changed). */
  apiWrites: {
    'services/status': WriteCounts;
    'ippools/status': WriteCounts;
    'l2advertisements/status': WriteCounts;
  };
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

function containsIp(pool: PoolView, ip: string): boolean {
  const a = parseIp(ip);
  return (
    a !== undefined &&
    pool.addresses.some((r) => r.family === a.family && r.first <= a.value && a.value <= r.last)
  );
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
  #queue = new Set<string>();
  /** Reconciles whose status write is under way, by Service key. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #flushing = false;
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
  readonly #stats: ControllerStats = {
    writes: new Map(),
    conflicts: 0,
    pausedServices: 0,
    allocations: 0,
    allocationFailures: {},
    restoreConflicts: 0,
    oscillationBreaks: 0,
    apiWrites: {
      'services/status': { ok: 0, conflict: 0, error: 0 },
      'ippools/status': { ok: 0, conflict: 0, error: 0 },
      'l2advertisements/status': { ok: 0, conflict: 0, error: 0 },
    },
  };
  readonly #statusApplier: StatusApplier;
  readonly #advertisements: AdvertisementReporter;
  /** Pools in use, pools refused (and why), and the last pool each held IP was in. */
  #accepted: PoolView[] = [];
  readonly #refused = new Map<string, NonNullable<PoolVerdict['refused']>>();
  readonly #poolOfIp = new Map<string, string>();
  #poolGenerations = new Map<string, number | undefined>();
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
    this.#poolSync = new DelayedSync(init.clock, POOL_STATUS_DELAY_MS, () => this.#writePoolStatuses());
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
          if (s.metadata?.namespace === ns.metadata?.name) this.#enqueue(keyOf(s));
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
        const name = p.metadata.name ?? '';
        if (this.#poolGenerations.get(name) === p.metadata.generation) return;
        this.#poolsChanged();
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
      pools: this.#poolViews(),
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
      this.#enqueue(serviceKey(v));
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

  /** Parses the pools, refuses bad and overlapping ones, and notes why (for their status). */
  #poolViews(): PoolView[] {
    const views: PoolView[] = [];
    this.#refused.clear();
    this.#poolGenerations = new Map(
      (this.#pools?.list() ?? []).map((p) => [p.metadata.name ?? '', p.metadata.generation]),
    );
    for (const p of this.#pools?.list() ?? []) {
      try {
        views.push(toPoolView(p));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.#refused.set(p.metadata.name ?? '', { reason: 'InvalidAddresses', message });
        this.#init.log?.warn({ err, pool: p.metadata.name }, 'pool refused: bad addresses');
      }
    }
    const { accepted, refused } = partitionPools(views);
    for (const r of refused) {
      const message = `overlaps pool ${r.overlapsWith} (created earlier) at ${formatRange(r.shared)}; not used`;
      this.#refused.set(r.pool, { reason: 'OverlapsPool', message });
      this.#init.log?.warn(
        { pool: r.pool, overlapsWith: r.overlapsWith },
        'pool refused: it overlaps an older pool',
      );
    }
    this.#accepted = accepted;
    return accepted;
  }

  /** Writes every pool's status (counts, conditions) where it changed (#poolSync runs one at a time). */
  async #writePoolStatuses(): Promise<void> {
    const counts = new Map(this.#allocator.counts().map((c) => [c.pool, c]));
    const outside = new Map<string, string[]>();
    for (const { ips } of this.#allocator.table())
      for (const ip of ips) {
        const home = this.#accepted.find((p) => containsIp(p, ip))?.name;
        if (home !== undefined) this.#poolOfIp.set(ip, home);
        else {
          const was = this.#poolOfIp.get(ip);
          if (was !== undefined) outside.set(was, [...(outside.get(was) ?? []), ip]);
        }
      }
    const now = new Date(this.#init.clock.wallNow());
    for (const pool of this.#pools?.list() ?? []) {
      const name = pool.metadata.name ?? '';
      const verdict = {
        refused: this.#refused.get(name),
        outside: outside.get(name) ?? [],
        counts: counts.get(name),
      };
      const written = await this.#statusApplier.apply('IPPool', name, poolStatusKey(pool, verdict), () =>
        poolStatus(pool, verdict, now),
      );
      if (written !== 'unchanged') this.#stats.apiWrites['ippools/status'][written]++;
    }
  }

  #poolsChanged(): void {
    this.#poolGenerations = new Map(
      (this.#pools?.list() ?? []).map((p) => [p.metadata.name ?? '', p.metadata.generation]),
    );
    if (!this.#ready) return;
    this.#allocator.setPools(this.#poolViews());
    for (const s of this.#services?.list() ?? []) this.#enqueue(keyOf(s));
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
    this.#enqueue(key);
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

  #enqueue(key: string): void {
    if (!this.#ready) return;
    this.#queue.add(key);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      void this.#flush();
    });
  }

  /**
   * Reconciles the queued Services. Decisions are taken one at a time, in
   * queue order (the allocator's part of #reconcile runs before its first
   * await); the status writes that follow run up to MAX_WRITES at once, never
   * two for one Service (a key whose write is in flight waits its turn).
   */
  async #flush(): Promise<void> {
    try {
      while (this.#queue.size > 0 && this.#ready) {
        for (const key of this.#queue) {
          if (this.#inFlight.has(key)) continue; // stays queued for the next round
          this.#queue.delete(key);
          const [namespace, name] = key.split('/');
          const svc = this.#services?.get(name ?? '', namespace);
          if (svc === undefined) continue;
          while (this.#inFlight.size >= MAX_WRITES) await Promise.race(this.#inFlight.values());
          const task = this.#reconcile(key, svc)
            .catch((err: unknown) => this.#init.log?.error({ err, service: key }, 'reconcile failed'))
            .finally(() => this.#inFlight.delete(key));
          this.#inFlight.set(key, task);
        }
        if (this.#inFlight.size > 0) await Promise.race(this.#inFlight.values());
      }
      await Promise.all(this.#inFlight.values());
    } finally {
      this.#flushing = false;
    }
    if (this.#queue.size > 0 && this.#ready) this.#enqueue([...this.#queue][0] ?? '');
    this.#poolSync.request();
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
          this.#enqueue(key);
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
