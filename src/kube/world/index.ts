/**
 * The speaker's view of the cluster (docs/speaker.md): a pure core that turns the
 * API objects into the election's immutable World (`buildWorld`, `toNodeView`,
 * `serviceIps`, `localEndpoints`, `poolIndex`), the adapter that watches them
 * (`ClusterView`), and the speakers' identities on their Pods (`publishIdentity`,
 * `KubePeerAuthority`).
 *
 *   const view = new ClusterView({ kube, clock, namespace: 'meshlb', onChange: reconcile });
 *   await view.start();
 *   const members = new Map(mesh.members().map((m) => [m.node, m.state]));
 *   decide(view.snapshot(members, claims));
 */
export { analyseWorld, buildWorld, type WorldInputs } from './build.ts';
export { afterIo, Coalescer, type Schedule } from './coalesce.ts';
export {
  COMPONENT_LABEL,
  INTERFACES_ANNOTATION,
  MACS_ANNOTATION,
  MESH_ADDRS_ANNOTATION,
  PEER_ID_ANNOTATION,
  SERVICE_NAME_LABEL,
  SPEAKER_COMPONENT,
  SPEAKER_SELECTOR,
} from './constants.ts';
export { endpointServes, localEndpoints, type LocalEndpoints } from './endpoints.ts';
export {
  KubePeerAuthority,
  publishIdentity,
  setPodCondition,
  speakerIdentities,
  type PodCondition,
  type PublishedIdentity,
  type SpeakerIdentity,
} from './identity.ts';
export { toNodeView } from './nodes.ts';
export { poolIndex, type PoolIndex } from './pools.ts';
export { serviceIps, type ServiceIps, type UnannouncedIp, type UnannouncedReason } from './services.ts';
export { ClusterView, type ClusterViewInit, type SavedView } from './view.ts';
