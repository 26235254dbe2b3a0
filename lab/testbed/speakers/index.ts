// Speakers as OS processes for benchmarks and tests: a mesh-only member, a
// mesh + election member (no wire yet), and the drivers that start them.
export { ElectionCluster, type Placement } from './election-cluster.ts';
export { memberScript, rssMb, startMember, wallNow, type MemberProcess } from './member-process.ts';
export {
  createSpeakerPod,
  registerNode,
  setNodeReady,
  SPEAKER_NAMESPACE,
  SPEAKER_SERVICE_ACCOUNT,
  speakerHttp,
  speakerMetricsHttp,
  speakerUrlOf,
  startSpeakerProcess,
  writeMeshKey,
  writeUnreachableKubeconfig,
  type SpeakerProcessOptions,
} from './kube-speakers.ts';
