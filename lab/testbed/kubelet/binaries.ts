import { toolBinaries } from '../controlplane/index.ts';

/**
 * The directory holding kubelet, kube-proxy, kube-controller-manager and
 * kube-scheduler: $MESHLB_CLUSTER_BIN when set (scripts/test sets it), else
 * what tools/cluster/build.sh prints (instant when cached, ~5 min cold).
 */
export function clusterBinaries(): Promise<string> {
  return toolBinaries('tools/cluster/build.sh', 'MESHLB_CLUSTER_BIN', [
    'kubelet',
    'kube-proxy',
    'kube-controller-manager',
    'kube-scheduler',
  ]);
}
