export { controlPlaneBinaries, toolBinaries } from './binaries.ts';
export { signClientCert, type Pki } from './pki.ts';
export {
  certKubeconfigYaml,
  startControlPlane,
  type BoundPod,
  type ControlPlane,
  type ControlPlaneOptions,
} from './controlplane.ts';
export { ControlPlaneBinariesError, ControlPlaneStartError } from './errors.ts';
export { sweepStaleControlPlanes } from './sweep.ts';
export { createIpPool, createL2Advertisement, CRD_DIR, installCrds } from './meshlb.ts';
export {
  canI,
  describeAccess,
  helmBinary,
  HelmBinaryError,
  installMonitoringStandInCrds,
  kubectlWithInput,
  MONITORING_STAND_IN_CRDS,
  type AccessRequest,
} from './deploy.ts';
