/**
 * Keeps every L2Advertisement's status current (advertisement-status.ts) while
 * this controller leads: it watches the advertisements, the Nodes (their
 * labels) and the speaker Pods (the interfaces each speaker says it answers
 * on), and writes a status when what it says changes, at most once per
 * ADVERTISEMENT_STATUS_DELAY_MS for any burst of changes.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { GROUP, PLURALS, VERSION, type L2Advertisement } from '../kube/api/index.ts';
import { objectPath, type KubeClient } from '../kube/client/index.ts';
import { SupervisedInformer } from '../kube/informer.ts';
import { SPEAKER_SELECTOR, speakerIdentities } from '../kube/world/index.ts';
import { advertisementStatus, advertisementStatusKey, advertisementVerdict } from './advertisement-status.ts';
import { DelayedSync } from './delayed-sync.ts';
import type { StatusApplier } from './status-applier.ts';

/**
 * How long an advertisement's status lags the change that moved it. 1 s, as
 * the pools': current to a person, and a rolling restart of 100 speakers
 * (each Pod changing several times) costs a handful of writes, not hundreds.
 */
export const ADVERTISEMENT_STATUS_DELAY_MS = 1_000;

export interface AdvertisementReporterInit {
  kube: KubeClient;
  clock: Clock;
  /** The speakers' namespace (the controller's). */
  namespace: string;
  applier: StatusApplier;
  /** Each write's outcome (metrics). */
  onWrite?: (result: 'ok' | 'error') => void;
  log?: Logger;
}

export class AdvertisementReporter {
  readonly #init: AdvertisementReporterInit;
  #advertisements: SupervisedInformer<L2Advertisement> | undefined;
  #nodes: SupervisedInformer<V1Node> | undefined;
  #pods: SupervisedInformer<V1Pod> | undefined;
  /** Node → its labels (JSON): a Node update that changes no label (a heartbeat) changes nothing here. */
  readonly #labels = new Map<string, string>();
  readonly #sync: DelayedSync;
  #running = false;

  constructor(init: AdvertisementReporterInit) {
    this.#init = init;
    this.#sync = new DelayedSync(init.clock, ADVERTISEMENT_STATUS_DELAY_MS, () => this.#writeAll());
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#sync.start();
    const { kube, clock, log, namespace } = this.#init;
    const base = { client: kube, clock, ...(log === undefined ? {} : { log }) };
    const changed = (): void => {
      this.#schedule();
    };
    const nodeChanged = (n: V1Node): void => {
      const name = n.metadata?.name ?? '';
      const labels = JSON.stringify(n.metadata?.labels ?? {});
      if (this.#labels.get(name) === labels) return;
      this.#labels.set(name, labels);
      this.#schedule();
    };
    this.#advertisements = new SupervisedInformer<L2Advertisement>({
      ...base,
      path: objectPath(GROUP, VERSION, PLURALS.L2Advertisement),
      onAdd: changed,
      onUpdate: changed,
      onDelete: (a) => {
        // One created again under this name must get its status written.
        this.#init.applier.forget('L2Advertisement', a.metadata.name ?? '');
      },
    });
    this.#nodes = new SupervisedInformer<V1Node>({
      ...base,
      path: '/api/v1/nodes',
      onAdd: nodeChanged,
      onUpdate: nodeChanged,
      onDelete: (n) => {
        this.#labels.delete(n.metadata?.name ?? '');
        this.#schedule();
      },
    });
    this.#pods = new SupervisedInformer<V1Pod>({
      ...base,
      path: `/api/v1/namespaces/${namespace}/pods`,
      query: { labelSelector: SPEAKER_SELECTOR },
      onAdd: changed,
      onUpdate: changed,
      onDelete: changed,
    });
    for (const i of [this.#advertisements, this.#nodes, this.#pods]) await i.start();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#sync.stop();
    const informers = [this.#advertisements, this.#nodes, this.#pods];
    this.#advertisements = this.#nodes = this.#pods = undefined;
    this.#labels.clear();
    for (const i of informers) await i?.stop();
  }

  #schedule(): void {
    this.#sync.request();
  }

  /** Writes every advertisement's status where it changed. */
  async #writeAll(): Promise<void> {
    const nodes = this.#nodes?.list() ?? [];
    const speakers = speakerIdentities(this.#pods?.list() ?? []);
    const now = new Date(this.#init.clock.wallNow());
    for (const adv of this.#advertisements?.list() ?? []) {
      const v = advertisementVerdict(adv, nodes, speakers);
      const name = adv.metadata.name ?? '';
      const r = await this.#init.applier.apply('L2Advertisement', name, advertisementStatusKey(adv, v), () =>
        advertisementStatus(adv, v, now),
      );
      if (r !== 'unchanged') this.#init.onWrite?.(r);
    }
  }
}
