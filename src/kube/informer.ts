import {
  makeInformer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock/index.ts';

export interface SupervisedInformerInit<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** Watch path, e.g. /api/v1/services. */
  path: string;
  list: ListPromise<T>;
  onAdd: (obj: T) => void;
  onUpdate: (obj: T) => void;
  onDelete: (obj: T) => void;
  log?: Logger;
  /** First restart delay; doubles up to maxBackoffMs, resets once a list succeeds again. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** 0 ≤ x < 1, for the jitter (default Math.random). */
  random?: () => number;
}

/** An error in one line: its message and its cause's (fetch's "fetch failed" says nothing alone). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || cause === err.message ? err.message : `${err.message}: ${cause}`;
}

/**
 * A client-node informer that keeps running. client-node stops an informer
 * on any watch error other than 410 Gone (a dropped connection, a 403 while
 * RBAC is being fixed, an API server restart); this restarts it with an
 * exponential backoff (1 s doubling to 30 s by default, each wait drawn
 * between half and all of it so that many speakers do not retry in step),
 * which re-lists and so delivers whatever changed meanwhile. The backoff
 * resets only once a list succeeds: client-node reports "connect" before
 * every attempt, and resetting there kept a dead API server retried every
 * second. Logs one line per state change: a warning at the first failure
 * (the error's message, no stack), debug for the retries, info when a list
 * succeeds again.
 */
export class SupervisedInformer<T extends KubernetesObject> {
  readonly #init: SupervisedInformerInit<T>;
  readonly #informer;
  #backoffMs: number;
  #timer: Timer | undefined;
  #running = false;
  #restarts = 0;
  /** Failed attempts since the last successful list. */
  #failing = 0;

  constructor(init: SupervisedInformerInit<T>) {
    this.#init = init;
    this.#backoffMs = init.initialBackoffMs ?? 1_000;
    this.#informer = makeInformer<T>(init.kubeConfig, init.path, async () => {
      const listed = await init.list();
      this.#recovered();
      return listed;
    });
    this.#informer.on('add', init.onAdd);
    this.#informer.on('update', init.onUpdate);
    this.#informer.on('delete', init.onDelete);
    this.#informer.on('error', (err: unknown) => {
      this.#restartLater(err);
    });
  }

  #recovered(): void {
    this.#backoffMs = this.#init.initialBackoffMs ?? 1_000;
    if (this.#failing > 0) {
      this.#init.log?.info({ path: this.#init.path, failedAttempts: this.#failing }, 'watch restored');
    }
    this.#failing = 0;
  }

  #restartLater(err: unknown): void {
    if (!this.#running) return;
    this.#restarts++;
    this.#failing++;
    const waitMs = Math.round(this.#backoffMs * (0.5 + 0.5 * (this.#init.random ?? Math.random)()));
    const fields = {
      path: this.#init.path,
      retryInMs: waitMs,
      error: describe(err),
    };
    if (this.#failing === 1) this.#init.log?.warn(fields, 'watch failed; restarting with backoff');
    else this.#init.log?.debug({ ...fields, failedAttempts: this.#failing }, 'watch still failing');
    this.#timer?.cancel();
    this.#timer = this.#init.clock.setTimeout(() => {
      if (!this.#running) return;
      this.#informer.start().catch((e: unknown) => {
        this.#restartLater(e);
      });
    }, waitMs);
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#init.maxBackoffMs ?? 30_000);
  }

  /** Restarts so far (a metric). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts; resolves once the first list was delivered. */
  async start(): Promise<void> {
    this.#running = true;
    await this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    await this.#informer.stop();
  }

  /** The informer's cache. */
  list(): readonly T[] {
    return this.#informer.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }
}
