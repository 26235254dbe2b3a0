import type { V1ObjectReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { microTime, objectPath, type KubeClient } from './client/index.ts';

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
  regarding: V1ObjectReference & { namespace: string; name: string };
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. RequestedIPOutsidePools. */
  reason: string;
  /** CamelCase verb, e.g. Allocate. */
  action: string;
  note: string;
}

/**
 * Records events.k8s.io/v1 Events, de-duplicated so that a repeated
 * reconcile never floods etcd. Best effort: a failed write is logged and
 * dropped, never retried in a loop.
 */
export class EventRecorder {
  readonly #init: EventInit;
  readonly #last = new Map<string, number>();
  #seq = 0;
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
    const name = `${e.regarding.name}.${Date.now().toString(16)}${(++this.#seq).toString(16)}`;
    this.#init.kube
      .create(objectPath('events.k8s.io', 'v1', 'events', e.regarding.namespace), {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: e.regarding.namespace },
        eventTime: microTime(this.#init.clock.wallNow()),
        reportingController: this.#init.controller ?? REPORTING_CONTROLLER,
        reportingInstance: this.#init.instance,
        regarding: e.regarding,
        type: e.type,
        reason: e.reason,
        action: e.action,
        note: e.note.slice(0, 1024),
      })
      .catch((err: unknown) => this.#init.log?.warn({ err, reason: e.reason }, 'could not record an Event'));
    return true;
  }

  /** Forgets an object's Events (it was deleted). */
  forget(uid: string): void {
    for (const k of this.#last.keys()) if (k.startsWith(`${uid}|`)) this.#last.delete(k);
  }
}
