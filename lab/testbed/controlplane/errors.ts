/** etcd or kube-apiserver did not become ready; the message carries the tail of its log. */
export class ControlPlaneStartError extends Error {
  override name = 'ControlPlaneStartError';
}

/** The control-plane binaries could not be found or built. */
export class ControlPlaneBinariesError extends Error {
  override name = 'ControlPlaneBinariesError';
}
