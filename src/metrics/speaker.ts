import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AnnouncementWriter } from '../kube/announcements/writer.ts';
import { mirroredCounter, mirroredGauge } from './mirror.ts';

/** Why this speaker started announcing an IP. */
export type FailoverCause = 'takeover' | 'failback' | 'fresh' | 'rebalance';
const CAUSES: readonly FailoverCause[] = ['takeover', 'failback', 'fresh', 'rebalance'];

/** How a take of a Local Service's IP ended its wait for kube-proxy (speaker/local-traffic.ts). */
export type LocalTrafficResult = 'delivered' | 'unknown' | 'gave-up';
const LOCAL_TRAFFIC_RESULTS: readonly LocalTrafficResult[] = ['delivered', 'unknown', 'gave-up'];
/** kube-proxy answers in about a millisecond once its rules are written; it writes them at most once a second. */
const LOCAL_TRAFFIC_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5];

/** A reconcile is a pure decision plus a diff: tens of µs for a few IPs, ms for thousands. */
const RECONCILE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The speaker's own decisions, counted as it makes them (the speaker calls
 * these; nothing is read at scrape time).
 *
 *   const m = new SpeakerMetrics(registry);
 *   m.announced({ ipv4: 3, ipv6: 1 });   // after each reconcile
 *   m.failover('takeover');              // started announcing an IP another node held
 */
export class SpeakerMetrics {
  readonly #announced: Gauge<'family'>;
  readonly #failovers: Counter<'cause'>;
  readonly #withdrawals: Counter;
  readonly #reconcile: Histogram;
  readonly #kernelAnswered: Gauge;
  readonly #localTrafficWait: Histogram<'result'>;

  constructor(registry: Registry) {
    this.#announced = new Gauge({
      name: 'meshlb_announced_ips',
      help: 'Service IPs this speaker announces, by address family.',
      labelNames: ['family'],
      registers: [registry],
    });
    this.announced({ ipv4: 0, ipv6: 0 });
    this.#failovers = new Counter({
      name: 'meshlb_failovers_total',
      help: 'IPs this speaker started announcing, by cause: takeover (from a failed or departed announcer), failback, fresh (nobody announced it), rebalance (a planned move: its holder was over the load bound).',
      labelNames: ['cause'],
      registers: [registry],
    });
    for (const cause of CAUSES) this.#failovers.inc({ cause }, 0);
    this.#withdrawals = new Counter({
      name: 'meshlb_withdrawals_total',
      help: 'IPs this speaker stopped announcing.',
      registers: [registry],
    });
    this.#kernelAnswered = new Gauge({
      name: 'meshlb_kernel_answered_ips',
      help: "Service IPs this node's kernel answers ARP for by itself (addresses of a local interface, arp_ignore 0): every such node answers, whoever announces (IPVS without strictARP).",
      registers: [registry],
    });
    this.#kernelAnswered.set(0);
    this.#localTrafficWait = new Histogram({
      name: 'meshlb_local_traffic_wait_seconds',
      help: "How long a take of an externalTrafficPolicy: Local Service's IP waited for this node's kube-proxy to report the Service's local endpoint (healthCheckNodePort), by result: delivered (200), unknown (no health check answered), gave-up (localTrafficWaitMs passed).",
      labelNames: ['result'],
      buckets: LOCAL_TRAFFIC_BUCKETS,
      registers: [registry],
    });
    for (const result of LOCAL_TRAFFIC_RESULTS) this.#localTrafficWait.zero({ result });
    this.#reconcile = new Histogram({
      name: 'meshlb_reconcile_duration_seconds',
      help: "Duration of the speaker's reconcile (election decision and the diff applied).",
      buckets: RECONCILE_BUCKETS,
      registers: [registry],
    });
  }

  /** The IPs announced now, by family. */
  announced(byFamily: { ipv4: number; ipv6: number }): void {
    this.#announced.set({ family: 'ipv4' }, byFamily.ipv4);
    this.#announced.set({ family: 'ipv6' }, byFamily.ipv6);
  }

  /** Started announcing one IP. */
  failover(cause: FailoverCause): void {
    this.#failovers.inc({ cause });
  }

  /** Stopped announcing one IP. */
  withdrawn(): void {
    this.#withdrawals.inc();
  }

  /** How many service IPs the node's kernel answers ARP for by itself (kernel-answers.ts). */
  kernelAnswered(ips: number): void {
    this.#kernelAnswered.set(ips);
  }

  /** A take of a Local Service's IP waited this long for this node's kube-proxy. */
  localTrafficWait(result: LocalTrafficResult, seconds: number): void {
    this.#localTrafficWait.observe({ result }, seconds);
  }

  /** One reconcile took this long. */
  decisions(durationSeconds: number): void {
    this.#reconcile.observe(durationSeconds);
  }
}

/** The speaker's view of the cluster, read at scrape time. */
export interface ViewSource {
  /** Informer restarts so far (the supervisor restarts a stopped informer). */
  readonly restarts: number;
  /** Every informer has listed once. */
  readonly synced: boolean;
}

/** `meshlb_informer_restarts_total` and `meshlb_caches_synced` from the speaker's view. */
export function registerViewMetrics(registry: Registry, view: ViewSource): void {
  mirroredCounter(registry, {
    name: 'meshlb_informer_restarts_total',
    help: 'Kubernetes informers restarted by their supervisor (a watch that failed other than with 410 Gone).',
    read: () => [[{}, view.restarts]],
  });
  mirroredGauge(registry, {
    name: 'meshlb_caches_synced',
    help: '1 once every informer has listed its objects, else 0 (nothing is announced before).',
    read: () => [[{}, view.synced ? 1 : 0]],
  });
}

/**
 * `meshlb_announcement_writes_total{result}` from the ServiceAnnouncement
 * writer's WriterStats: `created`, `applied`, `deleted` count the requests
 * sent; `failed` the write operations that failed (any of them). And
 * `meshlb_announcement_reads_total`: the reads the writer needed first.
 */
export function registerAnnouncementMetrics(
  registry: Registry,
  writer: Pick<AnnouncementWriter, 'stats'>,
): void {
  mirroredCounter(registry, {
    name: 'meshlb_announcement_writes_total',
    help: 'ServiceAnnouncement writes by result: created, applied, deleted (requests sent) and failed.',
    labelNames: ['result'],
    read: () => {
      const s = writer.stats;
      return [
        [{ result: 'created' }, s.creates],
        [{ result: 'applied' }, s.applies],
        [{ result: 'deleted' }, s.deletes],
        [{ result: 'failed' }, s.failures],
      ];
    },
  });
  mirroredCounter(registry, {
    name: 'meshlb_announcement_reads_total',
    help: 'API reads the ServiceAnnouncement writer made (the object or its Service, before creating it).',
    read: () => [[{}, writer.stats.reads]],
  });
}

/** What the placement metrics read: the standing claims and who is alive (the speaker's view of the mesh). */
export interface PlacementSource {
  claims: { all(): readonly { node: string }[] };
  /** Nodes whose speakers are alive in the mesh. */
  alive(): readonly string[];
  /** The load bound the election computes (addresses per node); undefined when it is off. */
  bound?(): number | undefined;
}

/**
 * How the service IPs are spread over the nodes, as this speaker sees the
 * claims: `meshlb_placement_addresses{node}` per alive node (0 included), and
 * `meshlb_placement_spread`, the busiest node's count over the mean (1 is
 * even; in layer 2 all of an IP's traffic enters through its announcer, so
 * this is the cluster's throughput balance). Every speaker reports the same
 * figures once the claims have spread: aggregate with max.
 */
export function registerPlacementMetrics(registry: Registry, src: PlacementSource): void {
  const counts = (): Map<string, number> => {
    const m = new Map<string, number>(src.alive().map((n) => [n, 0]));
    for (const c of src.claims.all()) if (m.has(c.node)) m.set(c.node, (m.get(c.node) ?? 0) + 1);
    return m;
  };
  mirroredGauge(registry, {
    name: 'meshlb_placement_addresses',
    help: 'Service IPs each alive node announces, from the standing claims this speaker knows.',
    labelNames: ['node'],
    read: () => [...counts()].map(([node, n]) => [{ node }, n] as const),
  });
  mirroredGauge(registry, {
    name: 'meshlb_placement_bound',
    help: 'The load bound: the most service IPs a node announces while another node that may take one has room (0: the bound is off).',
    read: () => [[{}, src.bound?.() ?? 0]],
  });
  mirroredGauge(registry, {
    name: 'meshlb_placement_spread',
    help: "The busiest alive node's service IPs over the mean per alive node (1 is even; 0 with no IP).",
    read: () => [[{}, placementSpread([...counts().values()])]],
  });
}

/** max / mean of the counts (0 when there is nothing to spread). */
export function placementSpread(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0 || counts.length === 0) return 0;
  return Math.max(...counts) / (total / counts.length);
}
