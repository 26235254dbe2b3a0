import type { V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../../clock/index.ts';
import { apiCode as code, APPLY_PATCH, objectPath, type KubeClient } from '../client/index.ts';
import { API_VERSION, GROUP, PLURALS, VERSION, type ServiceAnnouncement } from '../api/index.ts';
import { CONCURRENCY, speakerManager } from './constants.ts';
import type { AnnouncementEntry, DesiredAnnouncement, ServiceRef } from './entries.ts';
import { AnnouncementSchedule, type PlannedWrite, type ScheduleInit, type WriteOutcome } from './schedule.ts';

export interface AnnouncementWriterInit extends Omit<ScheduleInit, 'clock'> {
  kube: KubeClient;
  clock: Clock;
  /** This speaker's node: the field manager is `meshlb-speaker-<node>`. */
  node: string;
  /** Writes in flight at once (default 4). */
  concurrency?: number;
  log?: Logger;
}

/** Requests the writer made, by kind (mutating ones are the budgeted writes). */
export interface WriterStats {
  creates: number;
  deletes: number;
  applies: number;
  reads: number;
  failures: number;
}

const announcementPath = (namespace: string, name: string): string =>
  objectPath(GROUP, VERSION, PLURALS.ServiceAnnouncement, namespace, name);

/**
 * Writes this node's entries in the ServiceAnnouncement objects (one per Service,
 * named like it, in its namespace), paced by an `AnnouncementSchedule`.
 *
 * - Creates the object when missing, with an ownerReference to the Service (its uid),
 *   after checking the Service still has that uid; the create drops `status`, so a
 *   first announcement is two writes.
 * - Applies `status.announcements` server-side as `meshlb-speaker-<node>`, forced,
 *   with only this node's entries: the list is a map keyed by `ip`, so each speaker
 *   owns its own addresses and a takeover takes the entry over; an apply without an
 *   entry gives it up (withdraw).
 * - Every apply carries the object's uid as a precondition: an object deleted (with
 *   its Service) meanwhile is never re-created by a status write.
 *
 *   const writer = new AnnouncementWriter({ kube, clock, node: 'node-3' });
 *   writer.start();
 *   writer.update([{ service: { namespace, name, uid }, entries: [{ ip, node: 'node-3', interfaces: ['eth0'], epoch: 4, since: new Date() }] }]);
 */
export class AnnouncementWriter {
  readonly #kube: KubeClient;
  readonly #clock: Clock;
  readonly #manager: string;
  readonly #concurrency: number;
  readonly #log: Logger | undefined;
  readonly #schedule: AnnouncementSchedule;
  /** `namespace/name` → the object's uid and its owner's, once seen or created. */
  readonly #objects = new Map<string, { uid: string; owner: string }>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #idleWaiters: (() => void)[] = [];
  #timer: Timer | undefined;
  #running = false;
  readonly stats: WriterStats = { creates: 0, deletes: 0, applies: 0, reads: 0, failures: 0 };

  constructor(init: AnnouncementWriterInit) {
    this.#kube = init.kube;
    this.#clock = init.clock;
    this.#manager = speakerManager(init.node);
    this.#concurrency = init.concurrency ?? CONCURRENCY;
    this.#log = init.log;
    this.#schedule = new AnnouncementSchedule({ ...init, clock: init.clock });
  }

  /** The field manager this writer applies as. */
  get fieldManager(): string {
    return this.#manager;
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops writing (nothing is withdrawn: the next announcer takes the entries over); waits for writes in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    await Promise.all([...this.#inFlight]);
    this.#wakeIdle();
  }

  /** This node's whole desired set; Services left out are withdrawn. */
  update(desired: readonly DesiredAnnouncement[]): void {
    this.#schedule.replace(desired);
    this.#pump();
  }

  /** One Service's entries (none = withdraw). */
  set(desired: DesiredAnnouncement): void {
    this.#schedule.set(desired);
    this.#pump();
  }

  /** Entries found in the cluster as this node's (after a restart), so they can be withdrawn. */
  adopt(service: ServiceRef, entries: readonly AnnouncementEntry[]): void {
    this.#schedule.adopt(service, entries);
    this.#pump();
  }

  /** Resolves once nothing is pending nor in flight (or the writer stopped). */
  idle(): Promise<void> {
    if (!this.#running || (this.#schedule.pending === 0 && this.#inFlight.size === 0))
      return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<undefined>();
    this.#idleWaiters.push(() => {
      resolve(undefined);
    });
    return promise;
  }

  #wakeIdle(): void {
    if (this.#running && (this.#schedule.pending > 0 || this.#inFlight.size > 0)) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  #pump(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    while (this.#running && this.#inFlight.size < this.#concurrency) {
      const next = this.#schedule.next();
      this.#log?.trace({ next }, 'next');
      if (next === undefined) break;
      if ('waitMs' in next) {
        this.#timer = this.#clock.setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, next.waitMs);
        break;
      }
      const job = this.#write(next.write).then((outcome) => {
        this.#inFlight.delete(job);
        this.#schedule.done(next.write, outcome);
        this.#pump();
      });
      this.#inFlight.add(job);
    }
    this.#wakeIdle();
  }

  async #write(plan: PlannedWrite): Promise<WriteOutcome> {
    let requests = 0;
    const { namespace, name, uid } = plan.service;
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        let object = this.#objects.get(plan.key);
        if (object?.owner !== uid) {
          const found = await this.#read(namespace, name);
          if (found !== undefined && found.owner !== uid) {
            // The object of an earlier Service of that name (not yet collected): not ours to write.
            requests++;
            await this.#delete(namespace, name, found.uid);
            continue;
          }
          if (found === undefined) {
            if (plan.entries.length === 0) return { result: 'written', requests };
            if (!(await this.#serviceExists(namespace, name, uid))) return { result: 'gone', requests };
            requests++;
            const created = await this.#create(plan.service);
            if (created === undefined) continue; // created by another speaker meanwhile
            object = created;
          } else object = found;
          this.#objects.set(plan.key, object);
        }
        requests++;
        const applied = await this.#apply(plan, object.uid);
        this.#log?.debug({ service: plan.key, kind: plan.kind, applied, requests }, 'status applied');
        if (applied) return { result: 'written', requests };
        this.#objects.delete(plan.key); // deleted or re-created meanwhile: look again
        if (plan.entries.length === 0) return { result: 'written', requests };
      }
      return { result: 'failed', requests };
    } catch (err) {
      this.stats.failures++;
      this.#log?.warn({ err, service: plan.key }, 'could not write the ServiceAnnouncement');
      return { result: 'failed', requests };
    }
  }

  async #read(namespace: string, name: string): Promise<{ uid: string; owner: string } | undefined> {
    this.stats.reads++;
    const obj = await this.#kube.find<ServiceAnnouncement>(announcementPath(namespace, name));
    if (obj === undefined) return undefined;
    const owner = obj.metadata.ownerReferences?.find((o) => o.kind === 'Service' && o.apiVersion === 'v1');
    return { uid: obj.metadata.uid ?? '', owner: owner?.uid ?? '' };
  }

  async #serviceExists(namespace: string, name: string, uid: string): Promise<boolean> {
    this.stats.reads++;
    const svc = await this.#kube.find<V1Service>(objectPath('', 'v1', 'services', namespace, name));
    return svc?.metadata?.uid === uid;
  }

  async #create(service: ServiceRef): Promise<{ uid: string; owner: string } | undefined> {
    this.stats.creates++;
    const body: ServiceAnnouncement = {
      apiVersion: API_VERSION,
      kind: 'ServiceAnnouncement',
      metadata: {
        name: service.name,
        namespace: service.namespace,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: service.name, uid: service.uid }],
      },
    };
    try {
      const out = await this.#kube.create<ServiceAnnouncement>(
        objectPath(GROUP, VERSION, PLURALS.ServiceAnnouncement, service.namespace),
        body,
        { query: { fieldManager: this.#manager } },
      );
      return { uid: out.metadata.uid ?? '', owner: service.uid };
    } catch (err) {
      if (code(err) === 409) return undefined;
      throw err;
    }
  }

  async #delete(namespace: string, name: string, uid: string): Promise<void> {
    this.stats.deletes++;
    try {
      await this.#kube.delete(announcementPath(namespace, name), { body: { preconditions: { uid } } });
    } catch (err) {
      if (code(err) !== 404 && code(err) !== 409) throw err;
    }
  }

  /** True when applied; false when the object (that uid) is gone. */
  async #apply(plan: PlannedWrite, uid: string): Promise<boolean> {
    this.stats.applies++;
    try {
      await this.#kube.patch(
        `${announcementPath(plan.service.namespace, plan.service.name)}/status`,
        {
          apiVersion: API_VERSION,
          kind: 'ServiceAnnouncement',
          // The uid is a precondition: never write into an object deleted (or re-created) meanwhile.
          metadata: { name: plan.service.name, namespace: plan.service.namespace, uid },
          // An empty list, not an empty status: when the last entry goes, SSA would
          // otherwise remove `status` altogether, and the schema refuses a null status.
          // The list is a map keyed by ip: [] gives up this manager's entries only.
          status: { announcements: plan.entries },
        },
        // A takeover takes the entry's fields from the previous announcer (force).
        { contentType: APPLY_PATCH, query: { fieldManager: this.#manager, force: true } },
      );
      return true;
    } catch (err) {
      if (code(err) === 404 || code(err) === 409) return false;
      throw err;
    }
  }
}
