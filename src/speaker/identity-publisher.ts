import type { Logger } from 'pino';
import type { Clock, Startable, Timer } from '../clock/index.ts';
import type { KubeClient } from '../kube/client/index.ts';
import { publishIdentity } from '../kube/world/index.ts';
import type { Endpoint } from '../mesh/index.ts';

/** The longest wait between two attempts to publish. */
const MAX_RETRY_MS = 30_000;

export interface IdentityPublisherInit {
  kube: KubeClient;
  namespace: string;
  podName: string;
  clock: Clock;
  log: Logger;
  /** The first retry's delay (doubled each time, at most 30 s); default 1 s. */
  retryMs?: number;
  /** The speaker's mesh endpoint (peer ID and addresses), once it listens. */
  endpoint: () => Endpoint | undefined;
  /** The MACs and interfaces it answers on now. */
  wire: () => { macs: readonly string[]; interfaces: readonly string[] };
  /** Called after each publication that worked (the speaker reconciles). */
  onPublished: () => void;
  /** Aborted on the speaker's stop. */
  signal: AbortSignal;
}

/**
 * Publishes the speaker's identity on its own Pod: the peer ID and mesh
 * address the others accept its messages by, and the MACs and interfaces it
 * answers on. Retried with backoff until it works; published again when the
 * wire changes (republishIfChanged). start() publishes the first time;
 * nothing is retried after stop().
 */
export class IdentityPublisher implements Startable {
  readonly #init: IdentityPublisherInit;
  #published = false;
  /** A publication is in flight (or waiting to be retried). */
  #publishing = false;
  /** The MACs and interfaces last published (JSON). */
  #publishedWire: string | undefined;
  #timer: Timer | undefined;
  #started = false;
  #stopped = false;

  constructor(init: IdentityPublisherInit) {
    this.#init = init;
  }

  /** A publication has worked. */
  get published(): boolean {
    return this.#published;
  }

  /** Publishes the first time. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.publish();
  }

  /** Publishes now (the first time, or again). */
  publish(): void {
    this.#publish(this.#init.retryMs ?? 1_000);
  }

  /** The interfaces or MACs changed since the last publication that worked: publish again. */
  republishIfChanged(): void {
    if (!this.#published || this.#publishing || this.#stopped) return;
    if (JSON.stringify(this.#init.wire()) !== this.#publishedWire) this.publish();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #publish(delayMs: number): void {
    const endpoint = this.#init.endpoint();
    if (endpoint === undefined || this.#stopped) return;
    const { kube, namespace, podName, log, signal } = this.#init;
    const wire = this.#init.wire();
    this.#publishing = true;
    publishIdentity(
      kube,
      namespace,
      podName,
      { peerId: endpoint.peerId, addrs: endpoint.addrs, ...wire },
      signal,
    ).then(
      () => {
        this.#publishing = false;
        this.#published = true;
        this.#publishedWire = JSON.stringify(wire);
        log.info({ pod: podName, interfaces: wire.interfaces }, 'identity published on the Pod');
        this.#init.onPublished();
        this.republishIfChanged();
      },
      (err: unknown) => {
        if (this.#stopped) return; // no retry outlives stop()
        log.warn({ err, pod: podName, retryMs: delayMs }, 'cannot publish the identity on the Pod; retrying');
        this.#timer = this.#init.clock.setTimeout(() => {
          this.#publish(Math.min(delayMs * 2, MAX_RETRY_MS));
        }, delayMs);
      },
    );
  }
}
