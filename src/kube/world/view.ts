import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ListPromise,
  type V1EndpointSlice,
  type V1Node,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../clock/index.ts';
import type { Claim, World } from '../../election/index.ts';
import type { Endpoint, MemberState } from '../../mesh/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool, type L2Advertisement } from '../api/index.ts';
import type { ServiceRef } from '../announcements/index.ts';
import { SupervisedInformer } from '../informer.ts';
import { analyseWorld } from './build.ts';
import { Coalescer, type Schedule } from './coalesce.ts';
import { KubePeerAuthority } from './identity.ts';
import type { UnannouncedIp } from './services.ts';

export interface ClusterViewInit {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** Namespace of the speaker Pods (meshlb's own). */
  namespace: string;
  /**
   * Called after anything the World depends on changed, coalesced (one call for
   * every event of a turn of the event loop), and once all initial lists are in.
   */
  onChange: () => void;
  log?: Logger;
  /** The informers' restart backoff (SupervisedInformer: 1 s doubling to 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How calls to onChange are deferred (tests); default: after the turn's I/O (setImmediate). */
  schedule?: Schedule;
}

interface Watched<T extends KubernetesObject> {
  informer: SupervisedInformer<T>;
  /** The list succeeded at least once. */
  listed: boolean;
}

/** What every informer has in common, whatever it watches. */
interface AnyWatched {
  readonly listed: boolean;
  readonly informer: Pick<SupervisedInformer<KubernetesObject>, 'start' | 'stop' | 'restarts'>;
}

/**
 * The speaker's view of the cluster: supervised informers on Nodes, Services,
 * EndpointSlices, IPPools, L2Advertisements and the speaker Pods, their latest
 * objects, and a coalesced `onChange` so the speaker rebuilds the World once
 * per burst of events. `snapshot(members, claims)` builds that World
 * (buildWorld); `authority` is the Kubernetes-backed PeerAuthority and
 * `peers(self)` the other speakers' mesh endpoints, both from the speaker Pods.
 */
export class ClusterView {
  readonly authority: KubePeerAuthority;
  readonly #init: ClusterViewInit;
  readonly #changed: Coalescer;
  readonly #nodes: Watched<V1Node>;
  readonly #services: Watched<V1Service>;
  readonly #slices: Watched<V1EndpointSlice>;
  readonly #pools: Watched<IPPool>;
  readonly #advertisements: Watched<L2Advertisement>;
  readonly #pods: Watched<V1Pod>;

  constructor(init: ClusterViewInit) {
    this.#init = init;
    this.#changed = new Coalescer(init.onChange, init.schedule);
    const core = init.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = init.kubeConfig.makeApiClient(DiscoveryV1Api);
    const custom = init.kubeConfig.makeApiClient(CustomObjectsApi);
    const crd = <T extends KubernetesObject>(plural: string) =>
      this.#watch<T>(
        `/apis/${GROUP}/${VERSION}/${plural}`,
        () =>
          custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<
            KubernetesListObject<T>
          >,
      );
    this.#nodes = this.#watch('/api/v1/nodes', () => core.listNode());
    this.#services = this.#watch('/api/v1/services', () => core.listServiceForAllNamespaces());
    this.#slices = this.#watch('/apis/discovery.k8s.io/v1/endpointslices', () =>
      discovery.listEndpointSliceForAllNamespaces(),
    );
    this.#pools = crd<IPPool>(PLURALS.IPPool);
    this.#advertisements = crd<L2Advertisement>(PLURALS.L2Advertisement);
    // Every Pod of the namespace (SupervisedInformer takes no label selector);
    // speakerIdentities keeps the speakers'.
    const pods = init.namespace;
    this.#pods = this.#watch(
      `/api/v1/namespaces/${pods}/pods`,
      () => core.listNamespacedPod({ namespace: pods }),
      () => {
        this.authority.invalidate();
      },
    );
    this.authority = new KubePeerAuthority(() => this.#pods.informer.list());
  }

  #watch<T extends KubernetesObject>(path: string, list: ListPromise<T>, before?: () => void): Watched<T> {
    const { kubeConfig, clock, log, initialBackoffMs, maxBackoffMs } = this.#init;
    const changed = (): void => {
      before?.();
      this.#changed.request();
    };
    const watched: Watched<T> = {
      listed: false,
      informer: new SupervisedInformer<T>({
        kubeConfig,
        clock,
        path,
        list: async () => {
          const out = await list();
          // The informer adds the items right after this resolves; the coalesced
          // onChange runs after that, and reports the list even when it was empty.
          watched.listed = true;
          changed();
          return out;
        },
        onAdd: changed,
        onUpdate: changed,
        onDelete: changed,
        ...(log === undefined ? {} : { log }),
        ...(initialBackoffMs === undefined ? {} : { initialBackoffMs }),
        ...(maxBackoffMs === undefined ? {} : { maxBackoffMs }),
      }),
    };
    return watched;
  }

  get #all(): readonly AnyWatched[] {
    return [this.#nodes, this.#services, this.#slices, this.#pools, this.#advertisements, this.#pods];
  }

  /**
   * Starts every informer; resolves once each made its first attempt. A list
   * that failed (no CRDs yet, RBAC still missing) is retried with backoff, so
   * check `synced` (onChange is called when it becomes true).
   */
  async start(): Promise<void> {
    await Promise.all(this.#all.map((w) => w.informer.start()));
  }

  async stop(): Promise<void> {
    this.#changed.stop();
    await Promise.all(this.#all.map((w) => w.informer.stop()));
  }

  /** Every informer delivered its initial list: a World built now is complete. */
  get synced(): boolean {
    return this.#all.every((w) => w.listed);
  }

  /** Watch restarts after errors, over all informers (a metric). */
  get restarts(): number {
    return this.#all.reduce((n, w) => n + w.informer.restarts, 0);
  }

  /** The World from the latest objects, with the speaker's mesh state and claims. */
  snapshot(members: ReadonlyMap<string, MemberState>, claims: ReadonlyMap<string, Claim>): World {
    return this.analyse(members, claims).world;
  }

  /** As snapshot, with the addresses in Service statuses that are not announced and why. */
  analyse(
    members: ReadonlyMap<string, MemberState>,
    claims: ReadonlyMap<string, Claim>,
  ): { world: World; unannounced: UnannouncedIp[]; services: Map<string, ServiceRef[]> } {
    return analyseWorld({
      nodes: this.#nodes.informer.list(),
      services: this.#services.informer.list(),
      endpointSlices: this.#slices.informer.list(),
      pools: this.#pools.informer.list(),
      advertisements: this.#advertisements.informer.list(),
      members,
      claims,
    });
  }

  /** The other speakers' mesh endpoints (seeds for joining the mesh). */
  peers(selfNode: string): Endpoint[] {
    return this.authority.peers(selfNode);
  }
}
