/**
 * A real Kubernetes cluster on this machine: etcd + kube-apiserver (the test
 * control plane), kube-controller-manager and kube-scheduler, and N nodes on a
 * LAN of network namespaces, each running its own containerd and kubelet, with
 * meshlb's image and the pause image imported (no registry). What a DaemonSet,
 * a rollout or a drain does here is Kubernetes' own doing.
 *
 * The nodes reach the API server through a relay in their namespace on
 * 127.0.0.1 (the kubelets) and on POD_GATEWAY (Pods, host network or not):
 * `apiHost`/`apiPort` are what Pods must be told (KUBERNETES_SERVICE_HOST and
 * _PORT), since no kube-proxy runs to make the `kubernetes` Service reachable
 * (docs/install.md: clusters where Pods cannot reach the kubernetes Service).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { onExit } from '../cleanup.ts';
import { signClientCert, startControlPlane, type ControlPlane } from '../controlplane/index.ts';
import { ApiAccess, createLan, requireNetns, type Lan } from '../netns/index.ts';
import { poll } from '../poll.ts';
import { clusterBinaries } from './binaries.ts';
import { startControllers, type Controllers, type ControllersOptions } from './controllers.ts';
import { meshlbImage, pauseImage } from './images.ts';
import { destroyNodeSync, KubeletNode, KubeletNodeError } from './node.ts';
import { nodePaths, POD_GATEWAY, type KubeProxyMode } from './node-files.ts';

/** Where every lab's nodes keep their state: one directory per lab, named by the owning process. */
export const KUBELET_LAB_ROOT = '/var/lib/meshlb-lab';
const CNI_BIN = '/usr/lib/cni';
/** Sysctls the kubelet changes on the whole machine (protectKernelDefaults: false); restored on teardown. */
const KERNEL_DEFAULTS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'];

export interface KubeletClusterOptions extends ControllersOptions {
  /** Nodes; default 3. */
  nodes?: number;
  /** Network namespace prefix (stale ones are swept). */
  prefix?: string;
  onProgress?: (line: string) => void;
  /** Deadline for every Node to be Ready (default 180 s). */
  readyTimeoutMs?: number;
  /**
   * Runs a real kube-proxy on every node in this mode (none without: Services'
   * traffic then goes nowhere but to what the lab itself serves on each node).
   */
  kubeProxy?: KubeProxyMode;
}

/** Thrown when the machine cannot run kubelets here; says why in one sentence. */
export class KubeletLabUnavailableError extends Error {
  override readonly name = 'KubeletLabUnavailableError';
}

/** Checks what a kubelet node needs on this machine, without starting anything. */
export function kubeletLabPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, cgroups, mounts)');
  for (const f of [
    '/usr/bin/containerd',
    '/usr/bin/runc',
    '/usr/bin/ctr',
    '/usr/bin/nsenter',
    `${CNI_BIN}/bridge`,
  ]) {
    if (!existsSync(f)) missing.push(f);
  }
  if (!existsSync('/sys/fs/cgroup/memory/cgroup.procs')) missing.push('cgroup v1 memory hierarchy');
  return missing;
}

/** Removes what labs killed with SIGKILL left behind (their owner pid is gone). */
export function sweepStaleKubeletLabs(): void {
  if (!existsSync(KUBELET_LAB_ROOT)) return;
  for (const lab of readdirSync(KUBELET_LAB_ROOT)) {
    const pid = Number(lab.replace(/^lab-/, ''));
    try {
      process.kill(pid, 0);
      continue; // its lab is running
    } catch {
      // its owner is gone
    }
    const root = join(KUBELET_LAB_ROOT, lab);
    for (const node of readdirSync(root)) {
      const nsFile = join(root, node, 'netns');
      if (existsSync(nsFile))
        destroyNodeSync(nodePaths(root, node), `/${readFileSync(nsFile, 'utf8').trim()}`);
    }
    rmSync(root, { recursive: true, force: true });
  }
}

function readSysctls(): Map<string, string> {
  return new Map(KERNEL_DEFAULTS.map((k) => [k, readFileSync(`/proc/sys/${k}`, 'utf8').trim()]));
}

function restoreSysctls(saved: Map<string, string>): void {
  for (const [k, v] of saved) {
    try {
      writeFileSync(`/proc/sys/${k}`, v);
    } catch {
      // best effort
    }
  }
}

/** Pod network namespaces containerd made (cni-…) and left when it was killed: empty ones are deleted. */
function sweepPodNetnsSync(): void {
  if (!existsSync('/run/netns')) return;
  for (const ns of readdirSync('/run/netns').filter((n) => n.startsWith('cni-'))) {
    try {
      if (execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).trim() === '') {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
      }
    } catch {
      // best effort
    }
  }
}

export class KubeletCluster {
  readonly cp: ControlPlane;
  readonly lan: Lan;
  readonly api: ApiAccess;
  readonly nodes: readonly KubeletNode[];
  readonly controllers: Controllers;
  /** The meshlb image archive imported on every node. */
  readonly image: string;
  readonly #root: string;
  readonly #sysctls: Map<string, string>;
  readonly #unregister: () => void;
  #stopped = false;

  private constructor(
    parts: { cp: ControlPlane; lan: Lan; api: ApiAccess; nodes: KubeletNode[]; controllers: Controllers },
    image: string,
    root: string,
    sysctls: Map<string, string>,
  ) {
    this.cp = parts.cp;
    this.lan = parts.lan;
    this.api = parts.api;
    this.nodes = parts.nodes;
    this.controllers = parts.controllers;
    this.image = image;
    this.#root = root;
    this.#sysctls = sysctls;
    this.#unregister = onExit(() => {
      this.#destroySync();
    });
  }

  /** The directory holding every node's state and logs (/var/lib/meshlb-lab/lab-<pid>). */
  get root(): string {
    return this.#root;
  }

  /** What Pods are told the API server is (KUBERNETES_SERVICE_HOST). */
  get apiHost(): string {
    return POD_GATEWAY;
  }

  /** KUBERNETES_SERVICE_PORT. */
  get apiPort(): number {
    return this.api.port;
  }

  node(name: string): KubeletNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new RangeError(`no node ${name}`);
    return n;
  }

  static async start(opts: KubeletClusterOptions = {}): Promise<KubeletCluster> {
    requireNetns();
    const missing = kubeletLabPrerequisites();
    if (missing.length > 0)
      throw new KubeletLabUnavailableError(`cannot run kubelets here: missing ${missing.join(', ')}`);
    const say = opts.onProgress ?? (() => undefined);
    sweepStaleKubeletLabs();
    sweepPodNetnsSync();
    say("building or finding the cluster binaries, the pause image and meshlb's image");
    const [clusterBin, pause, image] = [await clusterBinaries(), await pauseImage(), await meshlbImage()];
    const sysctls = readSysctls();
    const root = join(KUBELET_LAB_ROOT, `lab-${process.pid}`);
    mkdirSync(root, { recursive: true });
    const cp = await startControlPlane({ onProgress: say, dualStack: true, extraSans: [POD_GATEWAY] });
    let lan: Lan | undefined;
    let api: ApiAccess | undefined;
    let controllers: Controllers | undefined;
    const nodes: KubeletNode[] = [];
    try {
      controllers = await startControllers(cp, clusterBin, opts);
      const n = opts.nodes ?? 3;
      say(`building a LAN: ${n} nodes and a client in network namespaces`);
      lan = await createLan({ hosts: n, prefix: opts.prefix ?? 'mlbk' });
      api = await ApiAccess.open(cp.server);
      // One identity for every kube-proxy, the one Kubernetes' default RBAC
      // binds to system:node-proxier.
      const proxyCert =
        opts.kubeProxy === undefined
          ? undefined
          : await signClientCert(
              cp.pki,
              mkdirSync(join(root, 'kube-proxy-pki'), { recursive: true }) ?? join(root, 'kube-proxy-pki'),
              'kube-proxy',
              '/CN=system:kube-proxy',
            );
      for (const host of lan.hosts) {
        await api.relay(lan, host, { listen: '0.0.0.0' });
        const pki = join(root, `${host.name}-pki`);
        mkdirSync(pki, { recursive: true });
        const cert = await signClientCert(
          cp.pki,
          pki,
          'kubelet',
          `/O=system:nodes/CN=system:node:${host.name}`,
        );
        const node = new KubeletNode({
          host,
          root,
          clusterBin,
          cniBin: CNI_BIN,
          server: cp.server,
          caFile: cp.pki.caCert,
          certFile: cert.cert,
          keyFile: cert.key,
          images: [pause, image],
          ...(opts.kubeProxy === undefined || proxyCert === undefined
            ? {}
            : { kubeProxy: { mode: opts.kubeProxy, certFile: proxyCert.cert, keyFile: proxyCert.key } }),
        });
        nodes.push(node);
        mkdirSync(node.paths.dir, { recursive: true });
        writeFileSync(join(node.paths.dir, 'netns'), host.ns);
      }
      say(`starting containerd and a kubelet on ${nodes.length} nodes`);
      await Promise.all(nodes.map((node) => node.start()));
      const cluster = new KubeletCluster({ cp, lan, api, nodes, controllers }, image, root, sysctls);
      await cluster.waitNodesReady(opts.readyTimeoutMs ?? 180_000);
      say('every node is Ready');
      return cluster;
    } catch (err) {
      for (const node of nodes) node.destroySync();
      await controllers?.stop();
      await api?.close();
      await lan?.teardown();
      await cp.stop();
      rmSync(root, { recursive: true, force: true });
      sweepPodNetnsSync();
      restoreSysctls(sysctls);
      throw err;
    }
  }

  /** The Nodes as the API server has them. */
  async listNodes(): Promise<V1Node[]> {
    return (await this.cp.kubeConfig.makeApiClient(CoreV1Api).listNode()).items;
  }

  /** Waits until every lab node's Node is Ready; throws with the kubelet's log otherwise. */
  async waitNodesReady(timeoutMs: number): Promise<void> {
    const ready = await poll(
      async () => {
        const items = await this.listNodes().catch(() => []);
        const isReady = (name: string): boolean =>
          items
            .find((x) => x.metadata?.name === name)
            ?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
        return this.nodes.every((n) => isReady(n.name));
      },
      timeoutMs,
      250,
    );
    if (ready === undefined) {
      const items = await this.listNodes().catch(() => []);
      const why = this.nodes
        .map((n) => {
          const node = items.find((x) => x.metadata?.name === n.name);
          const cond = node?.status?.conditions?.find((c) => c.type === 'Ready');
          return `${n.name}: ${node === undefined ? 'not registered' : `Ready=${cond?.status} ${cond?.reason}: ${cond?.message}`}; kubelet ${n.kubeletExited() ?? 'running'}; its log ends:\n${n.kubeletLogTail(15)}`;
        })
        .join('\n');
      throw new KubeletNodeError(`nodes not Ready within ${timeoutMs} ms:\n${why}`);
    }
  }

  #destroySync(): void {
    for (const node of this.nodes) node.destroySync();
    rmSync(this.#root, { recursive: true, force: true });
    sweepPodNetnsSync();
    restoreSysctls(this.#sysctls);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unregister();
    for (const node of this.nodes) await node.stopKubelet();
    this.#destroySync();
    await this.controllers.stop();
    await this.api.close();
    await this.lan.teardown();
    await this.cp.stop();
  }
}
