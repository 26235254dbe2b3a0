/**
 * The controller's work on Services, while it leads: the allocation table
 * (restored from the statuses it owns before anything is assigned), the queue
 * of Services to reconcile, each Service's decision and status write, and the
 * guard against a patch war (another controller changing the same fields:
 * writes pause, with an Event and a condition). One part (clock/lifecycle.ts),
 * started for each leader term once the table is restored; stop() drops the
 * queue and cancels the timers that end the pauses.
 */
import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { OwnedTimers, type Clock, type Startable, type Timer } from '../clock/index.ts';
import {
  Allocator,
  assignmentOrder,
  serviceKey,
  type Decision,
  type PoolView,
  type ServiceView,
} from '../kube/allocator/index.ts';
import type { KubeClient } from '../kube/client/index.ts';
import type { EventRecorder } from '../kube/events.ts';
import { OscillationGuard, type OscillationConfig } from '../kube/oscillation.ts';
import { CONTROLLER_MANAGER, ingressIps, ownsLoadBalancerStatus, toServiceView } from '../kube/views.ts';
import { ReconcileQueue } from './reconcile-queue.ts';
import type { ControllerStats } from './stats.ts';
import { PAUSED_CONDITION, StatusWriter } from './status.ts';

/**
 * Status writes in flight at most. 16: a burst of 1,000 new Services is
 * written in a few seconds (one write is ~10 ms of API server time) without
 * crowding out other clients of the API server.
 */
const MAX_WRITES = 16;

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

/** The ingress IPs meshlb's field manager owns (undefined: none), to keep them in an apply. */
const ownedIngress = (svc: V1Service): string[] | undefined =>
  ownsLoadBalancerStatus(svc.metadata?.managedFields, CONTROLLER_MANAGER) ? ingressIps(svc) : undefined;

/** The Service still carries meshlb's WritesPaused condition. */
const showsPause = (svc: V1Service): boolean =>
  (svc.status?.conditions ?? []).some((c) => c.type === PAUSED_CONDITION && c.status === 'True');

/** A Service's queue key: namespace/name. */
export const keyOf = (svc: V1Service): string =>
  `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;

/** The leader's caches the reconciler reads (the current term's informers: leader-term.ts). */
export interface LeaderCaches {
  services: { get(name: string, namespace?: string): V1Service | undefined; list(): readonly V1Service[] };
  namespaces: { get(name: string): V1Namespace | undefined };
}

export interface ServiceReconcilerInit {
  kube: KubeClient;
  clock: Clock;
  log?: Logger | undefined;
  loadBalancerClass?: string | undefined;
  oscillation?: Partial<OscillationConfig> | undefined;
  stats: ControllerStats;
  events: EventRecorder;
  /** The current leader term's caches (undefined before the first term). */
  caches: () => LeaderCaches | undefined;
  /** After each drain of the queue (the pools' status may have changed). */
  drained: () => void;
}

export class ServiceReconciler implements Startable {
  readonly #init: ServiceReconcilerInit;
  readonly #writer: StatusWriter;
  readonly #guard: OscillationGuard;
  #allocator: Allocator;
  /** Reconciling has started (after the restore) and not stopped. */
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
  /** The timer that ends each pause, and all of them (cancelled on stop). */
  readonly #resumeTimers = new Map<string, Timer>();
  readonly #timers: OwnedTimers;

  constructor(init: ServiceReconcilerInit) {
    this.#init = init;
    this.#writer = new StatusWriter(init.kube);
    this.#guard = new OscillationGuard(init.clock, init.oscillation);
    this.#timers = new OwnedTimers(init.clock);
    this.#allocator = new Allocator({ pools: [], loadBalancerClass: init.loadBalancerClass });
    this.#queue = new ReconcileQueue({
      maxInFlight: MAX_WRITES,
      active: () => this.#ready,
      run: (key) => {
        const [namespace, name] = key.split('/');
        const svc = init.caches()?.services.get(name ?? '', namespace);
        return svc === undefined ? undefined : this.#reconcile(key, svc);
      },
      failed: (err, key) => init.log?.error({ err, service: key }, 'reconcile failed'),
      drained: init.drained,
    });
  }

  /** True once the table is restored and reconciling has started (this term). */
  get ready(): boolean {
    return this.#ready;
  }

  get allocator(): Allocator {
    return this.#allocator;
  }

  /** Queues `key` (while ready). */
  add(key: string): void {
    this.#queue.add(key);
  }

  /**
   * Restart safety: the table first, from the statuses we own (of `services`,
   * the complete list), before anything is assigned; then start().
   */
  restore(pools: PoolView[], services: readonly V1Service[]): void {
    this.#allocator = new Allocator({ pools, loadBalancerClass: this.#init.loadBalancerClass });
    const report = this.#allocator.restore(services.map((s) => this.#view(s)));
    this.#init.log?.info(
      {
        restored: report.restored,
        conflicts: report.conflicts.slice(0, 20),
        invalid: report.invalid.slice(0, 20),
        outsidePool: report.outsidePool.length,
      },
      'allocation table restored',
    );
    this.#init.stats.restoreConflicts += report.conflicts.length;
  }

  /** Reconciles every Service of the leader's cache, and each change from now on. */
  start(): void {
    if (this.#ready) return;
    this.#ready = true;
    // Oldest first (requests first): the queue keeps this order, and each decision is
    // taken before the next, so of two Services that asked for one IP while no
    // controller ran, the older gets it, whatever order the list came in.
    const services = this.#init.caches()?.services.list() ?? [];
    for (const v of assignmentOrder(services.map((s) => this.#view(s)))) this.#queue.add(serviceKey(v));
  }

  /** No longer the leader: forgets the queue (writes under way finish, and write nothing more). */
  stop(): void {
    this.#ready = false;
    this.#queue.clear();
    this.#timers.cancelAll();
    this.#resumeTimers.clear();
  }

  /**
   * The allocator's view of a Service. Its status IPs are those of the
   * informer's copy, except right after a write of ours whose echo has not
   * arrived yet: then what we wrote (the copy is stale, and an allocator fed
   * the old status would take the IPs back and hand them out again).
   */
  #view(svc: V1Service): ServiceView {
    const ns = this.#init.caches()?.namespaces.get(svc.metadata?.namespace ?? '');
    const view = toServiceView(svc, ns?.metadata?.labels ?? {});
    const written = this.#unechoed.get(keyOf(svc));
    return written === undefined ? view : { ...view, currentIPs: JSON.parse(written) as string[] };
  }

  /** A Service was added or changed: was it someone else changing its load-balancer fields? */
  observe(svc: V1Service): void {
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
    const stats = this.#init.stats;
    stats.oscillationBreaks++;
    const since = new Date(this.#init.clock.wallNow());
    this.#pausedSince.set(key, since);
    stats.pausedServices = this.#pausedSince.size;
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

  deleted(svc: V1Service): void {
    const key = keyOf(svc);
    const released = this.#allocator.release(serviceKey(this.#view(svc)));
    this.#init.log?.debug({ service: key, released }, 'Service deleted');
    this.#seen.delete(key);
    this.#intended.delete(key);
    this.#unechoed.delete(key);
    this.#pausedSince.delete(key);
    this.#pauseCleared.delete(key);
    this.#init.stats.writes.delete(key); // per live Service: a deleted one's count would stay forever
    this.#guard.forget(key);
    this.#init.events.forget(svc.metadata?.uid ?? '');
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
    const stats = this.#init.stats;
    switch (d.kind) {
      case 'ignored':
        // Not ours (any more): give up what we wrote, if anything (the condition with it).
        if (d.released.length > 0 || resumed) cleared(await this.#write(svc, { ips: undefined }));
        return;
      case 'failed':
        stats.allocationFailures[d.reason] = (stats.allocationFailures[d.reason] ?? 0) + 1;
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
        stats.allocations++;
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
    const { stats, log } = this.#init;
    stats.writes.set(key, (stats.writes.get(key) ?? 0) + 1);
    if (intent.ips !== undefined) this.#intended.set(key, fingerprint(svc, intent.ips));
    const r = await this.#writer.apply(svc, intent);
    stats.apiWrites['services/status'][r.ok ? 'ok' : r.conflict ? 'conflict' : 'error']++;
    log?.debug({ service: key, ips: intent.ips, ok: r.ok }, 'status written');
    if (r.ok) return true;
    if (r.conflict) {
      stats.conflicts++;
      this.#event(
        svc,
        'Warning',
        'StatusOwnedByOther',
        'Allocate',
        'another controller owns status.loadBalancer; meshlb does not overwrite it',
      );
      if (!quiet) this.#foreign(key, svc);
    } else {
      log?.warn({ err: r.error, service: key }, 'status write failed');
    }
    return false;
  }

  /** Reconcile again when a pause ends (nothing else would trigger it if the rival went quiet). */
  #resumeAt(key: string, until: number): void {
    if (!this.#ready) return; // no timer outlives stop()
    this.#resumeTimers.get(key)?.cancel();
    this.#resumeTimers.set(
      key,
      this.#timers.after(until - this.#init.clock.now() + 1, () => {
        this.#resumeTimers.delete(key);
        this.#queue.add(key);
      }),
    );
  }

  #event(svc: V1Service, type: 'Normal' | 'Warning', reason: string, action: string, note: string): void {
    const meta = svc.metadata ?? {};
    this.#init.events.record({
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
