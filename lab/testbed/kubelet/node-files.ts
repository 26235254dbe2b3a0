/**
 * The configuration files of one lab node's containerd and kubelet: pure
 * functions of the node's paths and addresses, so they can be read and tested
 * apart from the processes. Why each setting is what it is: docs/kubelet-lab.md.
 */
import { join } from 'node:path';

/** Where one node keeps its state; every path is the node's own (KUBELETS.md: shared paths break). */
export interface NodePaths {
  /** Root of everything persistent: containerd's root, the kubelet's root, logs, CNI. */
  readonly dir: string;
  /** Root of runtime state: containerd's state and socket, runc's state. */
  readonly run: string;
}

export const nodePaths = (root: string, node: string): NodePaths => ({
  dir: join(root, node),
  run: join(root, node, 'run'),
});

export const containerdSocket = (p: NodePaths): string => join(p.run, 'containerd.sock');
export const containerdConfig = (p: NodePaths): string => join(p.dir, 'containerd.toml');
export const kubeletConfig = (p: NodePaths): string => join(p.dir, 'kubelet.yaml');
export const kubeletKubeconfig = (p: NodePaths): string => join(p.dir, 'kubelet.kubeconfig');
export const kubeletRoot = (p: NodePaths): string => join(p.dir, 'kubelet');
export const podLogs = (p: NodePaths): string => join(p.dir, 'pod-logs');
export const cniConfDir = (p: NodePaths): string => join(p.dir, 'cni', 'net.d');
export const cniDataDir = (p: NodePaths): string => join(p.dir, 'cni', 'data');

/** The name the lab's pause image is imported under; containerd's sandbox_image. */
export const PAUSE_IMAGE = 'localhost/meshlb-lab/pause:1';

/**
 * Pods that are not on the host's network get addresses from this range, on
 * a bridge `cni0` at .1. Every node uses the same range: nodes are separate
 * network namespaces and nothing in the lab routes pod traffic between them
 * (meshlb's controller talks only to the API server, which the node reaches at
 * POD_GATEWAY through its API relay).
 */
export const POD_CIDR = '10.88.0.0/16';
export const POD_GATEWAY = '10.88.0.1';
export const POD_BRIDGE = 'cni0';

export function containerdToml(p: NodePaths, cniBinDir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# containerd for lab node ${p.dir}: its own root, state, socket and runc root.
version = 2
root = "${join(p.dir, 'containerd')}"
state = "${join(p.run, 'containerd')}"
# Plugins the lab never uses (their start-up probes only log errors here).
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "${containerdSocket(p)}"

[ttrpc]
  address = "${join(p.run, 'containerd.ttrpc.sock')}"

[metrics]
  address = ""

[${cri}]
  # No registry is reachable: the lab builds and imports this image itself.
  sandbox_image = "${PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE: the pause container's oom_score_adj -998
  # would be refused and every sandbox would fail (KUBELETS.md).
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false

  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [${cri}.containerd.runtimes.runc.options]
        # cgroupfs: no systemd runs here (the kubelet's cgroupDriver matches).
        SystemdCgroup = false
        # Per-node runc state: nodes would otherwise see each other's containers.
        Root = "${join(p.run, 'runc')}"

  [${cri}.cni]
    bin_dir = "${cniBinDir}"
    conf_dir = "${cniConfDir(p)}"
    max_conf_num = 1
`;
}

/** A bridge network with host-local addresses: what the runtime needs to call the node's network ready. */
export function cniConflist(p: NodePaths): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'meshlb-lab',
      plugins: [
        {
          type: 'bridge',
          bridge: POD_BRIDGE,
          isGateway: true,
          ipMasq: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_CIDR, gateway: POD_GATEWAY }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: cniDataDir(p),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export interface KubeletSettings {
  node: string;
  /** The node's InternalIP(s): IPv4, then IPv6. */
  nodeIps: readonly string[];
  /** The cluster CA (client certificates and the API server's). */
  caFile: string;
  /** The cgroup every Pod of this node lives under (created beforehand in every v1 hierarchy). */
  cgroupRoot: string;
}

export function kubeletYaml(p: NodePaths, s: KubeletSettings): string {
  return `# kubelet for lab node ${s.node}
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://${containerdSocket(p)}
# cgroup v1 without systemd; a cgroupRoot per node, or one kubelet would kill
# the other's Pods as orphans (KUBELETS.md).
cgroupDriver: cgroupfs
cgroupRoot: ${s.cgroupRoot}
cgroupsPerQOS: true
failSwapOn: false
podLogsDir: ${podLogs(p)}
address: ${s.nodeIps[0] ?? '0.0.0.0'}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: ${s.caFile}
authorization:
  mode: AlwaysAllow
# The images are imported, never pulled: image garbage collection would delete
# them for good, so it never starts (the high threshold is 100 % of the disk).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# The machine's disk is shared by every node: only evict for real shortage.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  imagefs.available: 2%
# The kubelet's defaults: the node lifecycle controller judges it by these.
nodeStatusUpdateFrequency: 10s
nodeStatusReportFrequency: 5m
# The kubelet would set vm.overcommit_memory, kernel.panic and panic_on_oops on
# this machine; the lab restores them on teardown.
protectKernelDefaults: false
serializeImagePulls: false
resolvConf: /etc/resolv.conf
# No cluster DNS runs in the lab and meshlb resolves no names (it reaches the API
# server by address); without an entry every Pod gets a MissingClusterDNS Warning.
clusterDNS: [10.96.0.10]
clusterDomain: cluster.local
shutdownGracePeriod: 0s
`;
}

export const kubeProxyConfig = (p: NodePaths): string => join(p.dir, 'kube-proxy.yaml');
export const kubeProxyKubeconfig = (p: NodePaths): string => join(p.dir, 'kube-proxy.kubeconfig');

/** kube-proxy's modes this kernel can run: no IPVS here (CONFIG_IP_VS is not built; docs/kubelet-lab.md). */
export type KubeProxyMode = 'iptables' | 'nftables';
export const KUBE_PROXY_MODES: readonly KubeProxyMode[] = ['iptables', 'nftables'];

/** The port kube-proxy serves /healthz and /livez on (its default), in the node's namespace. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;

export function kubeProxyYaml(p: NodePaths, s: { node: string; mode: KubeProxyMode }): string {
  return `# kube-proxy for lab node ${s.node}
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ${s.mode}
hostnameOverride: ${s.node}
clientConnection:
  kubeconfig: ${kubeProxyKubeconfig(p)}
# Pods off the host network; traffic from elsewhere to a Service is masqueraded
# (externalTrafficPolicy: Cluster) or kept (Local), as in any cluster.
clusterCIDR: ${POD_CIDR}
healthzBindAddress: 0.0.0.0:${KUBE_PROXY_HEALTHZ_PORT}
metricsBindAddress: 127.0.0.1:10249
# Every node of the lab shares the machine's kernel: kube-proxy must not change
# the conntrack table's size or timeouts, which are the machine's (0: leave them).
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
# Root here lacks CAP_SYS_RESOURCE (KUBELETS.md): no lower oom_score_adj.
oomScoreAdj: 0
`;
}
