// The metrics module's public surface: a Prometheus registry per process, the
// HTTP endpoints (/metrics on one address, /healthz, /readyz, /debug/<name> on
// another or the same), and one register function per module whose counters
// it exports (docs/metrics.md).
//
//   const registry = createRegistry('speaker');
//   registerMeshMetrics(registry, { membership, watch, transport });
//   const endpoints = await Endpoints.listen({
//     log, registry, metricsAddr: ':7475', healthAddr: '127.0.0.1:7474', ready: () => readiness(),
//   });
export { registerControllerMetrics, type ControllerSource } from './controller.ts';
export { Endpoints, type EndpointsInit } from './endpoints.ts';
export { EndpointListenError } from './errors.ts';
export { registerMeshMetrics, type MeshSources } from './mesh.ts';
export {
  byLabel,
  mirroredCounter,
  mirroredGauge,
  oncePerTurn,
  type Labels,
  type MirrorSpec,
  type Read,
} from './mirror.ts';
export { createRegistry, PREFIX } from './registry.ts';
export { EndpointServer, type EndpointServerInit, type Readiness } from './server.ts';
export {
  registerAnnouncementMetrics,
  registerPlacementMetrics,
  placementSpread,
  type PlacementSource,
  registerViewMetrics,
  SpeakerMetrics,
  type FailoverCause,
  type ViewSource,
} from './speaker.ts';
export { registerWireMetrics, type WireSource } from './wire.ts';
export type { Registry } from 'prom-client';
