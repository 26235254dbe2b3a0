/**
 * The controller against a real API server (issue: Kubernetes, benchmarks 1-3).
 *
 *   node --expose-gc bench/controller.ts [--latency 1000] [--burst 1000] [--sequential 200] [--memory 10000]
 *
 * 1. Latency: Services created one after another (every 20 ms); for each, the
 *    time from a watcher seeing it ADDED to the same watcher seeing its
 *    status.loadBalancer filled.
 * 2. Burst: N Services created at once (50 requests in flight); the time
 *    until the watcher saw every status, and the status writes per Service
 *    (the controller's count, and the watcher's count of status changes).
 * 4. Sequential burst, from the API server's audit log: N Services created one
 *    after another as fast as the API server takes them; per Service the time
 *    from its create to the controller's first status write (both as the API
 *    server completed them: audit stage ResponseComplete), and the status
 *    writes per Service. The goal: p99 ≤ 50 ms, one write each.
 * 3. Memory: the controller's heap with N Services in its informer cache and
 *    allocation table (heap used after GC, minus before it started).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CoreV1Api, Watch, type V1Service } from '@kubernetes/client-node';
import { systemClock } from '../src/clock/index.ts';
import { Controller } from '../src/controller/index.ts';
import {
  createIpPool,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from '../lab/testbed/controlplane/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '1000' },
    burst: { type: 'string', default: '1000' },
    sequential: { type: 'string', default: '200' },
    memory: { type: 'string', default: '10000' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;

/** Runs fn over items with `width` in flight. */
async function parallel<T>(
  items: readonly T[],
  width: number,
  fn: (t: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Per Service name in one namespace: when it was ADDED, when its status got IPs, how many status changes. */
class Watcher {
  readonly added = new Map<string, number>();
  readonly assigned = new Map<string, number>();
  readonly statusChanges = new Map<string, number>();
  readonly #last = new Map<string, string>();
  #abort: AbortController | undefined;

  async start(cp: ControlPlane, namespace: string): Promise<void> {
    this.#abort = await new Watch(cp.kubeConfig).watch(
      `/api/v1/namespaces/${namespace}/services`,
      {},
      (phase: string, svc: V1Service) => {
        const t = performance.now();
        const name = svc.metadata?.name ?? '';
        if (phase === 'ADDED' && !this.added.has(name)) this.added.set(name, t);
        const ingress = JSON.stringify(svc.status?.loadBalancer?.ingress ?? []);
        if (ingress !== (this.#last.get(name) ?? '[]')) {
          this.statusChanges.set(name, (this.statusChanges.get(name) ?? 0) + 1);
          if (!this.assigned.has(name)) this.assigned.set(name, t);
        }
        this.#last.set(name, ingress);
      },
      () => undefined,
    );
  }

  stop(): void {
    this.#abort?.abort();
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

const svc = (name: string) => ({
  metadata: { name },
  spec: {
    type: 'LoadBalancer',
    allocateLoadBalancerNodePorts: false,
    ports: [{ port: 80, protocol: 'TCP' }],
  },
});

/** One audit event (Metadata level), as much as the benchmark reads. */
interface AuditEvent {
  stage: string;
  verb: string;
  stageTimestamp: string;
  objectRef?: { namespace?: string; name?: string; resource?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/** Per Service of `namespace`: create → first status write (ms), and its status writes, from the audit log. */
function fromAudit(path: string, namespace: string): { latency: number[]; writes: number[] } {
  const created = new Map<string, number>();
  const firstWrite = new Map<string, number>();
  const writes = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as AuditEvent;
    const ref = e.objectRef;
    const code = e.responseStatus?.code ?? 0;
    if (e.stage !== 'ResponseComplete' || ref?.namespace !== namespace || code >= 300) continue;
    const name = ref.name ?? '';
    // Microseconds: Date.parse would keep milliseconds only.
    const [, frac = '0'] = /\.(\d+)Z$/.exec(e.stageTimestamp) ?? [];
    const at = Date.parse(e.stageTimestamp.replace(/\.\d+Z$/, 'Z')) + Number(`0.${frac}`) * 1000;
    if (ref.subresource === undefined && e.verb === 'create') created.set(name, at);
    if (ref.subresource === 'status') {
      writes.set(name, (writes.get(name) ?? 0) + 1);
      if (!firstWrite.has(name)) firstWrite.set(name, at);
    }
  }
  const latency = [...created].flatMap(([n, t]) => {
    const w = firstWrite.get(n);
    return w === undefined ? [] : [w - t];
  });
  return { latency, writes: [...writes.values()] };
}

const cp = await startControlPlane({ audit: true });
const result: Record<string, unknown> = { benchmark: 'controller' };
try {
  await installCrds(cp);
  await createIpPool(cp, 'bench', { addresses: ['198.18.0.0/15'] });

  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const controller = new Controller({
    kube: cp.kube,
    clock: systemClock,
    identity: 'bench',
    namespace: 'default',
  });
  await controller.start();
  await until(() => controller.ready, 30_000);

  // 1. Latency, one Service at a time.
  const nLat = Number(values.latency);
  if (nLat > 0) {
    const ns = await cp.newNamespace('lat');
    const w = new Watcher();
    await w.start(cp, ns);
    for (let i = 0; i < nLat; i++) {
      await core.createNamespacedService({ namespace: ns, body: svc(`s${i}`) });
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => w.assigned.size >= nLat, 30_000);
    w.stop();
    const lat = [...w.assigned].map(([n, t]) => t - (w.added.get(n) ?? t));
    result.latency_ms = { services: nLat, assigned: w.assigned.size, ...summarize(lat, 1) };
  }

  // 2. Burst.
  const nBurst = Number(values.burst);
  if (nBurst > 0) {
    const ns = await cp.newNamespace('burst');
    const w = new Watcher();
    await w.start(cp, ns);
    const t0 = performance.now();
    await parallel(
      Array.from({ length: nBurst }, (_, i) => `b${i}`),
      50,
      (name) => core.createNamespacedService({ namespace: ns, body: svc(name) }),
    );
    const created = performance.now() - t0;
    const all = await until(() => w.assigned.size >= nBurst, 60_000);
    const done = Math.max(...w.assigned.values()) - t0;
    w.stop();
    const writes = [...controller.stats().writes].filter(([k]) => k.startsWith(`${ns}/`)).map(([, n]) => n);
    result.burst = {
      services: nBurst,
      all_assigned: all,
      created_in_ms: Math.round(created),
      all_assigned_in_ms: Math.round(done),
      controller_writes: { total: writes.reduce((a, b) => a + b, 0), max_per_service: Math.max(...writes) },
      status_changes_seen: { max_per_service: Math.max(...w.statusChanges.values()) },
    };
  }

  // 4. Sequential burst, timed from the audit log.
  const nSeq = Number(values.sequential);
  if (nSeq > 0 && cp.auditLogPath !== undefined) {
    const ns = await cp.newNamespace('seq');
    const w = new Watcher();
    await w.start(cp, ns);
    for (let i = 0; i < nSeq; i++) await core.createNamespacedService({ namespace: ns, body: svc(`q${i}`) });
    const all = await until(() => w.assigned.size >= nSeq, 60_000);
    w.stop();
    const auditLog = cp.auditLogPath;
    await until(() => fromAudit(auditLog, ns).latency.length >= nSeq, 10_000);
    const { latency, writes } = fromAudit(auditLog, ns);
    result.sequential_from_audit_log = {
      services: nSeq,
      all_assigned: all,
      create_to_status_ms: summarize(latency, 1),
      status_writes: { total: writes.reduce((a, b) => a + b, 0), max_per_service: Math.max(...writes) },
    };
  }

  // 3. Memory with many Services.
  const nMem = Number(values.memory);
  if (nMem > 0) {
    const ns = await cp.newNamespace('mem');
    const have = (nLat > 0 ? nLat : 0) + (nBurst > 0 ? nBurst : 0);
    const more = Math.max(0, nMem - have);
    const w = new Watcher();
    await w.start(cp, ns);
    await parallel(
      Array.from({ length: more }, (_, i) => `m${i}`),
      50,
      (name) => core.createNamespacedService({ namespace: ns, body: svc(name) }),
    );
    await until(() => w.assigned.size >= more, 300_000);
    w.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    gc?.();
    const heap = process.memoryUsage().heapUsed - heapBefore;
    result.memory = {
      services: have + more,
      controller_heap_mb: Number((heap / 1024 / 1024).toFixed(1)),
      per_service_kb: Number((heap / 1024 / (have + more)).toFixed(2)),
      process_rss_mb: Number((process.memoryUsage().rss / 1024 / 1024).toFixed(1)),
      note:
        gc === undefined ? 'run with --expose-gc for heap after GC' : 'heap after GC, bench watchers stopped',
    };
  }
  await controller.stop();
} finally {
  await cp.stop();
}
console.log(JSON.stringify(result, null, 2));
