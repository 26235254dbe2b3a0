import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../clock/index.ts';
import type { Claim, World } from '../../election/index.ts';
import type { Endpoint, MemberState } from '../../mesh/index.ts';
import { GROUP, PLURALS, VERSION, type IPPool, type L2Advertisement } from '../api/index.ts';
import type { ServiceRef } from '../announcements/index.ts';
import { objectPath, type KubeClient, type Query } from '../client/index.ts';
import { SupervisedInformer, type KubeObject } from '../informer.ts';
import { analyseWorld } from './build.ts';
import { Coalescer, type Schedule } from './coalesce.ts';
import { SPEAKER_SELECTOR } from './constants.ts';
import { KubePeerAuthority } from './identity.ts';
import type { UnannouncedIp } from './services.ts';

export interface ClusterViewInit {
  kube: KubeClient;
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
  /** The load bound's slack in every World it builds (World.balance); undefined: off. */
  balanceSlack?: number | undefined;
}

interface Watched<T extends KubeObject> {
  informer: SupervisedInformer<T>;
  /** The list succeeded at least once. */
  listed: boolean;
  /** Filled from a saved view (restore) while no list had succeeded. */
  restored: boolean;
}

/** What every informer has in common, whatever it watches. */
interface AnyWatched {
  readonly listed: boolean;
  readonly restored: boolean;
  readonly informer: Pick<SupervisedInformer<KubeObject>, 'start' | 'stop' | 'restarts'>;
}

/**
 * The objects a view was built from, as saved on the node (`saved()`), so
 * that a speaker restarted while the API server is unreachable can rejoin the
 * mesh and decide on the last view it had (`restore`). Schema version 1.
 */
export interface SavedView {
  version: 1;
  /** Wall-clock ms when it was taken. */
  savedAt: number;
  nodes: V1Node[];
  services: V1Service[];
  endpointSlices: V1EndpointSlice[];
  pools: IPPool[];
  advertisements: L2Advertisement[];
  pods: V1Pod[];
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
    this.#nodes = this.#watch('/api/v1/nodes');
    this.#services = this.#watch('/api/v1/services');
    this.#slices = this.#watch('/apis/discovery.k8s.io/v1/endpointslices');
    this.#pools = this.#watch(objectPath(GROUP, VERSION, PLURALS.IPPool));
    this.#advertisements = this.#watch(objectPath(GROUP, VERSION, PLURALS.L2Advertisement));
    // Only the speakers' Pods (the controller's are of no interest here).
    this.#pods = this.#watch(
      objectPath('', 'v1', 'pods', init.namespace),
      { labelSelector: SPEAKER_SELECTOR },
      () => {
        this.authority.invalidate();
      },
    );
    this.authority = new KubePeerAuthority(() => this.#pods.informer.list());
  }

  #watch<T extends KubeObject>(path: string, query?: Query, before?: () => void): Watched<T> {
    const { kube, clock, log, initialBackoffMs, maxBackoffMs } = this.#init;
    const changed = (): void => {
      before?.();
      this.#changed.request();
    };
    const watched: Watched<T> = {
      listed: false,
      restored: false,
      informer: new SupervisedInformer<T>({
        client: kube,
        clock,
        path,
        ...(query === undefined ? {} : { query }),
        onListed: () => {
          // The coalesced onChange reports the list even when it was empty.
          watched.listed = true;
          changed();
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

  /**
   * Every informer delivered its initial list, or holds a restored one: a
   * World built now is complete (as of the saved view's time, for a restored one).
   */
  get synced(): boolean {
    return this.#all.every((w) => w.listed || w.restored);
  }

  /** Some collection is still the one restored from a saved view (no list has succeeded since). */
  get fromSavedView(): boolean {
    return this.#all.some((w) => w.restored && !w.listed);
  }

  /**
   * The objects of a view whose every list succeeded, to save (undefined
   * before that). Whole, managedFields included: a Service's status counts
   * only when the controller's field manager owns it (services.ts).
   */
  saved(now: number): SavedView | undefined {
    if (!this.#all.every((w) => w.listed)) return undefined;
    const all = <T extends KubeObject>(w: Watched<T>): T[] => [...w.informer.list()];
    return {
      version: 1,
      savedAt: now,
      nodes: all(this.#nodes),
      services: all(this.#services),
      endpointSlices: all(this.#slices),
      pools: all(this.#pools),
      advertisements: all(this.#advertisements),
      pods: all(this.#pods),
    };
  }

  /**
   * Fills every collection not listed yet from a saved view; the first list
   * that succeeds replaces it. Returns whether anything was restored.
   */
  restore(v: SavedView): boolean {
    const fill = <T extends KubeObject>(w: Watched<T>, objects: T[]): boolean => {
      if (w.listed || !w.informer.seed(objects)) return false;
      w.restored = true;
      return true;
    };
    const filled = [
      fill(this.#nodes, v.nodes),
      fill(this.#services, v.services),
      fill(this.#slices, v.endpointSlices),
      fill(this.#pools, v.pools),
      fill(this.#advertisements, v.advertisements),
      fill(this.#pods, v.pods),
    ];
    const any = filled.some(Boolean);
    if (any) {
      this.authority.invalidate();
      this.#changed.request();
    }
    return any;
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
      balanceSlack: this.#init.balanceSlack,
    });
  }

  /** A Node as last listed or watched. */
  node(name: string): V1Node | undefined {
    return this.#nodes.informer.get(name);
  }

  /** A Service as last listed or watched. */
  service(namespace: string, name: string): V1Service | undefined {
    return this.#services.informer.get(name, namespace);
  }

  /** The other speakers' mesh endpoints (seeds for joining the mesh). */
  peers(selfNode: string): Endpoint[] {
    return this.authority.peers(selfNode);
  }
}
