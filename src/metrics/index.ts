// The metrics module's public surface: a Prometheus registry per process, the
// HTTP endpoints (/metrics, /healthz, /readyz, /debug/<name>), and one
// register function per module whose counters it exports (docs/metrics.md).
//
//   const registry = createRegistry('speaker');
//   registerMeshMetrics(registry, { membership, watch, transport });
//   const server = new EndpointServer({ registry, log, ready: () => readiness() });
//   await server.listen(':7472');
export { registerControllerMetrics, type ControllerSource } from './controller.ts';
export { EndpointListenError, ListenAddressError } from './errors.ts';
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
export {
  EndpointServer,
  parseListenAddress,
  type EndpointServerInit,
  type ListenAddress,
  type Readiness,
} from './server.ts';
export {
  registerAnnouncementMetrics,
  registerViewMetrics,
  SpeakerMetrics,
  type FailoverCause,
  type ViewSource,
} from './speaker.ts';
export { registerWireMetrics, type WireSource } from './wire.ts';
export type { Registry } from 'prom-client';
