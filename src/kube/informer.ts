import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock/index.ts';
import { apiCode, type KubeClient, type KubeWatch, type Query, type WatchEvent } from './client/index.ts';

/** What an informer needs of an object. */
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface SupervisedInformerInit<T extends KubeObject> {
  client: KubeClient;
  clock: Clock;
  /** Collection path, e.g. /api/v1/services: listed, then watched. */
  path: string;
  /** labelSelector / fieldSelector, for both the list and the watch. */
  query?: Query;
  onAdd: (obj: T) => void;
  onUpdate: (obj: T) => void;
  onDelete: (obj: T) => void;
  /** After a list has been applied (its adds, updates and deletes delivered). */
  onListed?: () => void;
  log?: Logger;
  /** First restart delay; doubles up to maxBackoffMs, resets once a list succeeds again. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** 0 ≤ x < 1, for the jitter and the watch timeout (default Math.random). */
  random?: () => number;
}

/**
 * Watches are ended by the server after a timeout drawn between this and
 * twice this (client-go's spread, so that a fleet's watches do not renew in
 * step), then resumed from the last resourceVersion without a list.
 */
const MIN_WATCH_TIMEOUT_S = 300;

/** A watch the server ends sooner than this counts as a failure (backoff), so that it cannot spin. */
const SHORT_WATCH_MS = 1_000;

/** The watch's resourceVersion is too old (410 Gone): list again at once. */
class ExpiredError extends Error {
  override name = 'ExpiredError';
}

/** An error in one line: its message and its cause's. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || cause === err.message ? err.message : `${err.message}: ${cause}`;
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * A cache of one collection that keeps itself current and keeps running: it
 * lists, then watches from the list's resourceVersion (with bookmarks),
 * resumes a watch the server ended, lists again when the version expired
 * (410), and after any other failure (a dropped connection, a 403 while RBAC
 * is being fixed, an API server restart) lists again after an exponential
 * backoff (1 s doubling to 30 s by default, each wait drawn between half and
 * all of it so that many speakers do not retry in step). A list delivers
 * what changed meanwhile: adds, updates (a new resourceVersion) and deletes.
 * The backoff resets only once a list succeeds. Logs one line per state
 * change: a warning at the first failure (the error's message, no stack),
 * debug for the retries, info when a list succeeds again.
 */
export class SupervisedInformer<T extends KubeObject> {
  readonly #init: SupervisedInformerInit<T>;
  readonly #cache = new Map<string, T>();
  #resourceVersion: string | undefined;
  #backoffMs: number;
  #timer: Timer | undefined;
  #watch: KubeWatch | undefined;
  #running = false;
  /** stop() is final: a start() after it (a caller that raced a stand-down) does nothing. */
  #stopped = false;
  #restarts = 0;
  /** Failed attempts since the last successful list. */
  #failing = 0;
  #settleListed: (listed: boolean) => void = () => undefined;
  /**
   * Resolves true once a list has been applied (the cache is complete), false
   * if stopped before: what to wait for before acting on the whole cache.
   */
  readonly listed: Promise<boolean>;

  constructor(init: SupervisedInformerInit<T>) {
    this.#init = init;
    this.#backoffMs = init.initialBackoffMs ?? 1_000;
    this.listed = new Promise<boolean>((resolve) => {
      this.#settleListed = resolve;
    });
  }

  get #random(): () => number {
    return this.#init.random ?? Math.random;
  }

  async #list(): Promise<void> {
    const { client, path, query } = this.#init;
    const listed = await client.list<T>(path, query);
    if (!this.#running) return;
    const seen = new Set<string>();
    const previous = new Map(this.#cache);
    for (const obj of listed.items) {
      const key = keyOf(obj);
      seen.add(key);
      const before = previous.get(key);
      this.#cache.set(key, obj);
      if (before === undefined) this.#init.onAdd(obj);
      else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#init.onUpdate(obj);
    }
    for (const [key, obj] of previous)
      if (!seen.has(key)) {
        this.#cache.delete(key);
        this.#init.onDelete(obj);
      }
    this.#resourceVersion = listed.metadata?.resourceVersion;
    this.#recovered();
    this.#settleListed(true);
    this.#init.onListed?.();
  }

  #apply(e: WatchEvent): void {
    const obj = e.object as T;
    const rv = obj.metadata?.resourceVersion;
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const had = this.#cache.has(keyOf(obj));
        this.#cache.set(keyOf(obj), obj);
        if (had) this.#init.onUpdate(obj);
        else this.#init.onAdd(obj);
        break;
      }
      case 'DELETED':
        if (this.#cache.delete(keyOf(obj))) this.#init.onDelete(obj);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = e.object as { code?: unknown; message?: unknown };
        const message = typeof status.message === 'string' ? status.message : '';
        if (status.code === 410) throw new ExpiredError(message || 'resourceVersion expired');
        throw new Error(`watch error ${typeof status.code === 'number' ? status.code : '?'}: ${message}`);
      }
    }
    if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
  }

  /** Watches until the server ends the stream, then again; a failure goes to #failed. */
  #watchLoop(): void {
    if (!this.#running) return;
    const started = this.#init.clock.now();
    const timeoutSeconds = Math.floor(MIN_WATCH_TIMEOUT_S * (1 + this.#random()));
    const watch = this.#init.client.watch(
      this.#init.path,
      {
        ...this.#init.query,
        allowWatchBookmarks: true,
        timeoutSeconds,
        ...(this.#resourceVersion === undefined ? {} : { resourceVersion: this.#resourceVersion }),
      },
      (e) => {
        this.#apply(e);
      },
    );
    this.#watch = watch;
    watch.done.then(
      () => {
        if (this.#watch !== watch || !this.#running) return;
        if (this.#init.clock.now() - started < SHORT_WATCH_MS)
          this.#failed(new Error('the API server ended the watch at once'));
        else this.#watchLoop();
      },
      (err: unknown) => {
        if (this.#watch !== watch || !this.#running) return;
        this.#failed(err);
      },
    );
  }

  /** Lists, then watches; a failure goes to #failed. Resolves after the list attempt. */
  async #attempt(): Promise<void> {
    try {
      await this.#list();
    } catch (err) {
      this.#failed(err);
      return;
    }
    this.#watchLoop();
  }

  #failed(err: unknown): void {
    if (!this.#running) return;
    this.#watch = undefined;
    this.#resourceVersion = undefined;
    if (err instanceof ExpiredError || apiCode(err) === 410) {
      this.#init.log?.debug({ path: this.#init.path }, 'watch expired; listing again');
      void this.#attempt();
      return;
    }
    this.#restartLater(err);
  }

  #recovered(): void {
    this.#backoffMs = this.#init.initialBackoffMs ?? 1_000;
    if (this.#failing > 0) {
      this.#init.log?.info({ path: this.#init.path, failedAttempts: this.#failing }, 'watch restored');
    }
    this.#failing = 0;
  }

  #restartLater(err: unknown): void {
    this.#restarts++;
    this.#failing++;
    const waitMs = Math.round(this.#backoffMs * (0.5 + 0.5 * this.#random()));
    const fields = {
      path: this.#init.path,
      retryInMs: waitMs,
      error: describe(err),
    };
    if (this.#failing === 1) this.#init.log?.warn(fields, 'watch failed; restarting with backoff');
    else this.#init.log?.debug({ ...fields, failedAttempts: this.#failing }, 'watch still failing');
    this.#timer?.cancel();
    this.#timer = this.#init.clock.setTimeout(() => {
      void this.#attempt();
    }, waitMs);
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#init.maxBackoffMs ?? 30_000);
  }

  /** Restarts so far (a metric). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts; resolves once the first list was attempted (a failed one is retried with backoff). */
  async start(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    await this.#attempt();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    this.#settleListed(false);
    this.#timer?.cancel();
    this.#watch?.abort();
    this.#watch = undefined;
    return Promise.resolve();
  }

  /** The informer's cache. */
  /**
   * Fills the cache with objects known from elsewhere (a view saved on the
   * node) while no list has succeeded yet; no events. The first list that
   * succeeds replaces them, with the adds, updates and deletes that makes.
   * Returns false (and does nothing) once a list has been applied.
   */
  seed(objects: readonly T[]): boolean {
    if (this.#resourceVersion !== undefined) return false;
    for (const obj of objects) this.#cache.set(keyOf(obj), obj);
    return true;
  }

  list(): readonly T[] {
    return [...this.#cache.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`);
  }
}
