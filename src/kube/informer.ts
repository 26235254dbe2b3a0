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
  /** First restart delay; doubles up to maxBackoffMs, resets once connected. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * A client-node informer that keeps running. client-node stops an informer
 * on any watch error other than 410 Gone (a dropped connection, a 403 while
 * RBAC is being fixed, an API server restart); this restarts it with an
 * exponential backoff (1 s doubling to 30 s by default), which re-lists and
 * so delivers whatever changed meanwhile.
 */
export class SupervisedInformer<T extends KubernetesObject> {
  readonly #init: SupervisedInformerInit<T>;
  readonly #informer;
  #backoffMs: number;
  #timer: Timer | undefined;
  #running = false;
  #restarts = 0;

  constructor(init: SupervisedInformerInit<T>) {
    this.#init = init;
    this.#backoffMs = init.initialBackoffMs ?? 1_000;
    this.#informer = makeInformer<T>(init.kubeConfig, init.path, init.list);
    this.#informer.on('add', init.onAdd);
    this.#informer.on('update', init.onUpdate);
    this.#informer.on('delete', init.onDelete);
    this.#informer.on('connect', () => {
      this.#backoffMs = init.initialBackoffMs ?? 1_000;
    });
    this.#informer.on('error', (err: unknown) => {
      this.#restartLater(err);
    });
  }

  #restartLater(err: unknown): void {
    if (!this.#running) return;
    this.#restarts++;
    this.#init.log?.warn(
      { err, path: this.#init.path, retryInMs: this.#backoffMs },
      'watch failed; restarting',
    );
    this.#timer?.cancel();
    this.#timer = this.#init.clock.setTimeout(() => {
      if (!this.#running) return;
      this.#informer.start().catch((e: unknown) => {
        this.#restartLater(e);
      });
    }, this.#backoffMs);
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
