import { createHash } from 'node:crypto';
import type { V1ObjectReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { apiCode, microTime, objectPath, type KubeClient } from './client/index.ts';

/** The `reportingController` of the controller's Events (the speakers': `meshlb.io/speaker`). */
export const REPORTING_CONTROLLER = 'meshlb.io/controller';

export interface EventInit {
  kube: KubeClient;
  clock: Clock;
  /** This process (Pod name): `reportingInstance`. */
  instance: string;
  /** `reportingController`; default REPORTING_CONTROLLER. */
  controller?: string;
  /**
   * The same Event (object, reason, note) is recorded at most once in this
   * long. 10 min: a condition that persists is still visible in
   * `kubectl describe` (Events live 1 h), without an Event per reconcile.
   */
  repeatAfterMs?: number;
  /**
   * Normal Events (not Warnings) are budgeted: this many per second on average,
   * with bursts up to normalBurst. 10/s and 50: a person reading `kubectl get
   * events` misses nothing, and a burst of 1,000 new Services does not double
   * the API server's write load with 1,000 IPAllocated Events (measured here:
   * the burst took 11.0 s with an Event each, 9.1-9.4 s with the budget).
   * Warnings are never dropped (only de-duplicated).
   */
  normalPerSecond?: number;
  normalBurst?: number;
  log?: Logger;
}

export interface EventSpec {
  /** namespace '' for a cluster-scoped object (a Node): its Events go to `default`, as Kubernetes' own. */
  regarding: V1ObjectReference & { namespace: string; name: string };
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. RequestedIPOutsidePools. */
  reason: string;
  /** CamelCase verb, e.g. Allocate. */
  action: string;
  note: string;
}

/** What the recorder reads back of an Event it finds under its name. */
interface RecordedEvent {
  metadata?: { resourceVersion?: string };
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
}

/**
 * Records events.k8s.io/v1 Events, de-duplicated so that a repeated
 * reconcile never floods etcd. Best effort: a failed write is logged and
 * dropped, never retried in a loop.
 *
 * The de-duplication survives a restart: an Event's name is derived from what
 * it says (the object's uid, the reporting controller, the reason and the
 * note), so the same Event recorded again meets its earlier self (409). Seen
 * within repeatAfterMs it is not recorded again; older, it becomes a series
 * (`series.count`, `series.lastObservedTime`: `kubectl describe` shows
 * "x2 over 15m"), as client-go's event recorder does. Events expire with the
 * API server's --event-ttl (1 h by default); after that the name is free.
 */
export class EventRecorder {
  readonly #init: EventInit;
  readonly #last = new Map<string, number>();
  #suppressed = 0;
  #tokens: number;
  #refilledAt: number;
  #droppedNormal = 0;

  constructor(init: EventInit) {
    this.#init = init;
    this.#tokens = init.normalBurst ?? 50;
    this.#refilledAt = init.clock.now();
  }

  /** Normal Events dropped by the budget so far (a metric). */
  get droppedNormal(): number {
    return this.#droppedNormal;
  }

  #budget(now: number): boolean {
    const rate = this.#init.normalPerSecond ?? 10;
    this.#tokens = Math.min(
      this.#init.normalBurst ?? 50,
      this.#tokens + ((now - this.#refilledAt) / 1000) * rate,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Returns true when the Event was sent (not suppressed as a repeat). */
  record(e: EventSpec): boolean {
    const now = this.#init.clock.now();
    const key = `${e.regarding.uid ?? e.regarding.name}|${e.reason}|${e.note}`;
    const last = this.#last.get(key);
    if (last !== undefined && now - last < (this.#init.repeatAfterMs ?? 600_000)) return false;
    if (e.type === 'Normal' && !this.#budget(now)) {
      this.#droppedNormal++;
      return false;
    }
    this.#last.set(key, now);
    if (this.#last.size > 10_000) this.#last.delete(this.#last.keys().next().value ?? '');
    this.#send(e).catch((err: unknown) =>
      this.#init.log?.warn({ err, reason: e.reason }, 'could not record an Event'),
    );
    return true;
  }

  async #send(e: EventSpec): Promise<void> {
    const controller = this.#init.controller ?? REPORTING_CONTROLLER;
    const note = e.note.slice(0, 1024);
    const digest = createHash('sha256')
      .update([e.regarding.uid ?? e.regarding.name, controller, e.reason, note].join('\0'))
      .digest('hex')
      .slice(0, 16);
    const name = `${e.regarding.name.slice(0, 200)}.${digest}`;
    const namespace = e.regarding.namespace === '' ? 'default' : e.regarding.namespace;
    const collection = objectPath('events.k8s.io', 'v1', 'events', namespace);
    const wallNow = this.#init.clock.wallNow();
    try {
      await this.#init.kube.create(collection, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: microTime(wallNow),
        reportingController: controller,
        reportingInstance: this.#init.instance,
        regarding:
          e.regarding.namespace === ''
            ? Object.fromEntries(Object.entries(e.regarding).filter(([k]) => k !== 'namespace'))
            : e.regarding,
        type: e.type,
        reason: e.reason,
        action: e.action,
        note,
      });
      return;
    } catch (err) {
      if (apiCode(err) !== 409) throw err;
    }
    // Recorded before (by this process before a restart, or by another replica).
    const path = `${collection}/${name}`;
    const before = await this.#init.kube.find<RecordedEvent & Record<string, unknown>>(path);
    if (before === undefined) return; // expired meanwhile; the next repeat creates it
    const last = Date.parse(before.series?.lastObservedTime ?? before.eventTime ?? '');
    if (wallNow - last < (this.#init.repeatAfterMs ?? 600_000)) {
      this.#suppressed++;
      return;
    }
    await this.#init.kube.replace(path, {
      ...before,
      series: { count: (before.series?.count ?? 1) + 1, lastObservedTime: microTime(wallNow) },
    });
  }

  /** Events not sent because the API already had them from before a restart (a metric). */
  get suppressedAfterRestart(): number {
    return this.#suppressed;
  }

  /** Forgets an object's Events (it was deleted). */
  forget(uid: string): void {
    for (const k of this.#last.keys()) if (k.startsWith(`${uid}|`)) this.#last.delete(k);
  }
}
