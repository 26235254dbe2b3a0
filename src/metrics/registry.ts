import { readFileSync } from 'node:fs';
import process from 'node:process';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Every meshlb metric name starts with this. */
export const PREFIX = 'meshlb_';

/** Resolution of the event-loop delay histogram behind `nodejs_eventloop_lag_*` (ms). */
const EVENT_LOOP_PRECISION_MS = 10;

function packageVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * A registry for one meshlb process: `meshlb_build_info{version, node_version,
 * component} 1` and prom-client's default process and Node.js metrics under
 * their standard names, unprefixed, so that stock dashboards and alerts work
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_seconds` and its
 * percentiles, …), less the three gauges it names `_total`. Lag matters here:
 * the mesh's Lifeguard timers stretch when the loop stalls.
 */
export function createRegistry(component: 'speaker' | 'controller'): Registry {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS,
  });
  // prom-client exports these totals as gauges named `_total`, which breaks the
  // naming rule (promtool flags them); sum the per-type gauges instead
  // (`nodejs_active_handles{type}`, …), which stay.
  for (const name of ['active_handles', 'active_requests', 'active_resources'])
    registry.removeSingleMetric(`nodejs_${name}_total`);
  new Gauge({
    name: `${PREFIX}build_info`,
    help: 'Always 1; its labels say which meshlb build and Node.js runs this component.',
    labelNames: ['version', 'node_version', 'component'],
    registers: [registry],
  }).set({ version: packageVersion(), node_version: process.version, component }, 1);
  return registry;
}
