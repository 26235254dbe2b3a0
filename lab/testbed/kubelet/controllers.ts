/**
 * Kubernetes' own controllers beside the lab's API server: kube-controller-manager
 * (DaemonSet, Deployment/ReplicaSet, EndpointSlice, node lifecycle, garbage
 * collection, the kube-root-ca.crt publisher, …) and kube-scheduler. Both run in
 * the root namespace on 127.0.0.1 with the admin kubeconfig; no leader election
 * (one of each).
 */
import { join } from 'node:path';
import type { ControlPlane } from '../controlplane/index.ts';
import { freePort } from '../ports.ts';
import { killChild, spawnGroup, type GroupChild } from '../process-group.ts';

export interface ControllersOptions {
  /**
   * How long the node lifecycle controller waits without a kubelet's heartbeat
   * before it sets the Node NotReady (Unknown). Kubernetes' default is 50 s; the
   * lab uses 20 s so that a stopped kubelet shows within a trial. It is twice
   * the kubelet's 10 s status update, the smallest margin that survives one
   * late heartbeat on a loaded machine.
   */
  nodeMonitorGracePeriodS?: number;
}

export const LAB_NODE_MONITOR_GRACE_S = 20;

export interface Controllers {
  readonly controllerManager: GroupChild;
  readonly scheduler: GroupChild;
  stop(): Promise<void>;
}

export async function startControllers(
  cp: ControlPlane,
  clusterBin: string,
  opts: ControllersOptions = {},
): Promise<Controllers> {
  const grace = opts.nodeMonitorGracePeriodS ?? LAB_NODE_MONITOR_GRACE_S;
  /** Starts `name` with what both share: the admin kubeconfig, serving on loopback, no leader election. */
  const launch = async (name: string, own: readonly string[]): Promise<GroupChild> =>
    spawnGroup(
      [
        join(clusterBin, name),
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--authentication-kubeconfig=${cp.kubeconfigPath}`,
        `--authorization-kubeconfig=${cp.kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
        ...own,
      ],
      join(cp.workDir, `${name}.log`),
    );
  const controllerManager = await launch('kube-controller-manager', [
    // Tokens for Pods are projected by the kubelet (TokenRequest); the
    // controllers act with the admin credentials of the lab.
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${cp.pki.saPrivateKey}`,
    // Published to every namespace as kube-root-ca.crt: Pods verify the API server with it.
    `--root-ca-file=${cp.pki.caCert}`,
    '--controllers=*',
    `--node-monitor-grace-period=${grace}s`,
    '--node-monitor-period=2s',
  ]);
  const scheduler = await launch('kube-scheduler', []);
  return {
    controllerManager,
    scheduler,
    async stop() {
      for (const c of [controllerManager, scheduler]) await killChild(c);
    },
  };
}
