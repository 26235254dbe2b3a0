/**
 * One real Kubernetes node of the lab: containerd + runc (Debian's) and a real
 * kubelet, both started inside the node's network namespace so that
 * hostNetwork Pods land on the node's LAN interface. They enter only the
 * network namespace (`nsenter --net`): `ip netns exec` would also give them a
 * fresh /sys without the cgroup mounts, and the kubelet dies (KUBELETS.md).
 * Every path is the node's own (nodePaths); the cgroupRoot is `/<node dir name>`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { run } from '../exec.ts';
import { poll } from '../poll.ts';
import { killChild, killGroup, spawnGroup, tail, type GroupChild } from '../process-group.ts';
import { certKubeconfigYaml } from '../controlplane/index.ts';
import type { Host } from '../netns/index.ts';
import { sh, systemTool } from '../netns/ip.ts';
import { createCgroupRoot, destroyCgroupRoot } from './cgroups.ts';
import {
  cniConfDir,
  cniConflist,
  containerdConfig,
  containerdSocket,
  containerdToml,
  kubeletConfig,
  kubeletKubeconfig,
  kubeletRoot,
  kubeletYaml,
  kubeProxyConfig,
  kubeProxyKubeconfig,
  kubeProxyYaml,
  nodePaths,
  type KubeProxyMode,
  podLogs,
  POD_BRIDGE,
  POD_CIDR,
  POD_GATEWAY,
  type NodePaths,
} from './node-files.ts';

/** Thrown when containerd or the kubelet of a lab node does not start; carries the end of its log. */
export class KubeletNodeError extends Error {
  override readonly name = 'KubeletNodeError';
}

export interface KubeletNodeOptions {
  host: Host;
  /** Directory holding every node's state (one subdirectory per node). */
  root: string;
  /** The kubelet binary and the others of tools/cluster/build.sh. */
  clusterBin: string;
  /** Debian's CNI plugins (containernetworking-plugins). */
  cniBin: string;
  /** https://127.0.0.1:<port>: the API server through the node's relay. */
  server: string;
  caFile: string;
  /** The node's client certificate (O=system:nodes, CN=system:node:<name>). */
  certFile: string;
  keyFile: string;
  /** OCI archives to import into the node's containerd before the kubelet starts. */
  images: readonly string[];
  /** Runs kube-proxy in this mode, with this client certificate (CN=system:kube-proxy); none without. */
  kubeProxy?: { mode: KubeProxyMode; certFile: string; keyFile: string };
}

export const CTR = '/usr/bin/ctr';

export class KubeletNode {
  readonly host: Host;
  readonly paths: NodePaths;
  readonly cgroupRoot: string;
  readonly #opts: KubeletNodeOptions;
  #containerd: GroupChild | undefined;
  #kubelet: GroupChild | undefined;
  #kubeProxy: GroupChild | undefined;

  constructor(opts: KubeletNodeOptions) {
    this.#opts = opts;
    this.host = opts.host;
    this.paths = nodePaths(opts.root, opts.host.name);
    this.cgroupRoot = `/${opts.host.ns}`;
  }

  get name(): string {
    return this.host.name;
  }

  get kubeletLog(): string {
    return join(this.paths.dir, 'kubelet.log');
  }

  get containerdLog(): string {
    return join(this.paths.dir, 'containerd.log');
  }

  get kubeProxyLog(): string {
    return join(this.paths.dir, 'kube-proxy.log');
  }

  /** The kubelet's process, while it runs. */
  get kubeletPid(): number | undefined {
    return this.#kubelet?.exited() === undefined ? this.#kubelet?.pid : undefined;
  }

  #inNet(argv: readonly string[]): string[] {
    return ['nsenter', `--net=/run/netns/${this.host.ns}`, ...argv];
  }

  /** Writes the files, starts containerd, imports the images, starts the kubelet. */
  async start(): Promise<void> {
    const p = this.paths;
    for (const d of [p.dir, p.run, cniConfDir(p), kubeletRoot(p), podLogs(p)])
      mkdirSync(d, { recursive: true });
    writeFileSync(join(p.dir, 'owner'), String(process.pid));
    writeFileSync(containerdConfig(p), containerdToml(p, this.#opts.cniBin));
    writeFileSync(join(cniConfDir(p), '10-meshlb-lab.conflist'), cniConflist(p));
    writeFileSync(
      kubeletKubeconfig(p),
      certKubeconfigYaml(
        this.#opts.server,
        { ca: this.#opts.caFile, cert: this.#opts.certFile, key: this.#opts.keyFile },
        'node',
      ),
    );
    writeFileSync(
      kubeletConfig(p),
      kubeletYaml(p, {
        node: this.name,
        nodeIps: [this.host.ipv4, this.host.ipv6],
        caFile: this.#opts.caFile,
        cgroupRoot: this.cgroupRoot,
      }),
    );
    // The pod bridge exists before any Pod so that hostNetwork Pods (the
    // speaker) can reach the API relay at POD_GATEWAY too: one API address
    // for every Pod of the lab, host network or not.
    await sh(['ip', '-n', this.host.ns, 'link', 'add', POD_BRIDGE, 'type', 'bridge']);
    await sh([
      'ip',
      '-n',
      this.host.ns,
      'addr',
      'add',
      `${POD_GATEWAY}/${POD_CIDR.split('/')[1] ?? '16'}`,
      'dev',
      POD_BRIDGE,
    ]);
    await sh(['ip', '-n', this.host.ns, 'link', 'set', POD_BRIDGE, 'up']);
    createCgroupRoot(this.cgroupRoot);

    await this.startContainerd();
    for (const image of this.#opts.images) await this.importImage(image);
    this.startKubelet();
    const proxy = this.#opts.kubeProxy;
    if (proxy !== undefined) {
      writeFileSync(kubeProxyConfig(p), kubeProxyYaml(p, { node: this.name, mode: proxy.mode }));
      writeFileSync(
        kubeProxyKubeconfig(p),
        certKubeconfigYaml(
          this.#opts.server,
          { ca: this.#opts.caFile, cert: proxy.certFile, key: proxy.keyFile },
          'kube-proxy',
        ),
      );
      // A Service's traffic to a backend on another node is forwarded by the
      // node that received it (externalTrafficPolicy: Cluster), as on any node.
      for (const key of ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'])
        await sh(['ip', 'netns', 'exec', this.host.ns, systemTool('sysctl'), '-q', '-w', `${key}=1`]);
      this.startKubeProxy();
    }
  }

  /** Starts kube-proxy (again, after stopKubeProxy); a node without the option runs none. */
  startKubeProxy(): void {
    if (this.#opts.kubeProxy === undefined || this.kubeProxyPid !== undefined) return;
    this.#kubeProxy = spawnGroup(
      this.#inNet([
        join(this.#opts.clusterBin, 'kube-proxy'),
        `--config=${kubeProxyConfig(this.paths)}`,
        '--v=1',
      ]),
      this.kubeProxyLog,
      // It runs iptables or nft by name: only the system's (under npx,
      // node_modules/.bin holds an unrelated `nft`).
      { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    );
  }

  /** kube-proxy's process, while it runs. */
  get kubeProxyPid(): number | undefined {
    return this.#kubeProxy?.exited() === undefined ? this.#kubeProxy?.pid : undefined;
  }

  /** Stops kube-proxy as a crash would (SIGKILL): the rules it wrote stay in the kernel. */
  async stopKubeProxy(): Promise<void> {
    await killChild(this.#kubeProxy);
  }

  /**
   * Imports an OCI archive into the node's containerd (namespace k8s.io). With
   * `as`, the image is also tagged `as`; `ref` is the name the archive carries
   * (an earlier release's archive may carry this one's name: import it, tag
   * it, then import this release's again).
   */
  async importImage(archive: string, tag?: { ref: string; as: string }): Promise<void> {
    const ctr = async (...args: string[]): Promise<void> => {
      const r = await run([CTR, '-a', containerdSocket(this.paths), '-n', 'k8s.io', ...args], {
        timeoutMs: 180_000,
      });
      if (r.code !== 0) throw new KubeletNodeError(`${this.name}: ctr ${args.join(' ')}: ${r.stderr.trim()}`);
    };
    await ctr('images', 'import', archive);
    // containerd names images in full: meshlb:0.1.0 is docker.io/library/meshlb:0.1.0.
    const full = (ref: string): string => (ref.includes('/') ? ref : `docker.io/library/${ref}`);
    if (tag !== undefined) await ctr('images', 'tag', '--force', full(tag.ref), full(tag.as));
  }

  async startContainerd(): Promise<void> {
    if (this.#containerd?.exited() === undefined && this.#containerd !== undefined) return;
    const sock = containerdSocket(this.paths);
    rmSync(sock, { force: true });
    this.#containerd = spawnGroup(
      this.#inNet(['/usr/bin/containerd', '--config', containerdConfig(this.paths)]),
      this.containerdLog,
    );
    const up = await poll(
      async () => {
        if (this.#containerd?.exited() !== undefined) return 'exited';
        if (!existsSync(sock)) return false;
        const r = await run([CTR, '-a', sock, 'version'], { timeoutMs: 5_000 }).catch(() => undefined);
        return r?.code === 0 ? 'up' : false;
      },
      30_000,
      100,
    );
    if (up !== 'up') {
      throw new KubeletNodeError(
        `${this.name}: containerd ${up === 'exited' ? `exited (${this.#containerd.exited()})` : 'did not answer in 30 s'}; its log ends:\n${tail(this.containerdLog)}`,
      );
    }
  }

  /** Starts the kubelet (again, after stopKubelet). */
  startKubelet(): void {
    if (this.kubeletPid !== undefined) return;
    const p = this.paths;
    const bin = join(this.#opts.clusterBin, 'kubelet');
    this.#kubelet = spawnGroup(
      this.#inNet([
        bin,
        `--config=${kubeletConfig(p)}`,
        `--kubeconfig=${kubeletKubeconfig(p)}`,
        `--root-dir=${kubeletRoot(p)}`,
        `--cert-dir=${join(p.dir, 'kubelet-pki')}`,
        `--hostname-override=${this.name}`,
        `--node-ip=${this.host.ipv4},${this.host.ipv6}`,
        '--v=1',
      ]),
      this.kubeletLog,
    );
  }

  /** Stops the kubelet as a crash or a hung node would: SIGKILL; its Pods keep running. */
  async stopKubelet(): Promise<void> {
    await killChild(this.#kubelet);
  }

  /** Whether the kubelet process has exited, and how (undefined while it runs). */
  kubeletExited(): string | undefined {
    return this.#kubelet?.exited();
  }

  /**
   * The process of a container on this node whose command line contains
   * `argv` (its words NUL-separated, as /proc has them): found by its cgroup,
   * which lies under the node's cgroupRoot.
   */
  containerPid(argv: string): number | undefined {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(argv)) continue;
        if (readFileSync(`/proc/${d}/cgroup`, 'utf8').includes(`:${this.cgroupRoot}/`)) return Number(d);
      } catch {
        // gone meanwhile
      }
    }
    return undefined;
  }

  /** The end of the kubelet's log (for error messages). */
  kubeletLogTail(lines = 30): string {
    return tail(this.kubeletLog, lines);
  }

  /** The log of a container of a Pod on this node, as the kubelet wrote it (no `kubectl logs` here). */
  containerLog(namespace: string, pod: string, container: string): string {
    const dir = podLogs(this.paths);
    const podDir = readdirSync(dir).find((d) => d.startsWith(`${namespace}_${pod}_`));
    if (podDir === undefined) return '';
    const cdir = join(dir, podDir, container);
    if (!existsSync(cdir)) return '';
    return readdirSync(cdir)
      .sort()
      .map((f) => readFileSync(join(cdir, f), 'utf8'))
      .join('');
  }

  /**
   * Removes the node: kubelet, every Pod process (by its cgroups), containerd
   * and its shims, the mounts under its directories, its cgroups and files.
   * Synchronous, so that it also runs at exit. Returns what it could not remove.
   */
  destroySync(): string[] {
    for (const c of [this.#kubeProxy, this.#kubelet, this.#containerd]) {
      if (c !== undefined && c.exited() === undefined) killGroup(c.pid, 'SIGKILL');
    }
    return destroyNodeSync(this.paths, this.cgroupRoot);
  }
}

/** Kills and removes everything of a node whose state is at `paths` (also a dead lab's: the sweep). */
export function destroyNodeSync(paths: NodePaths, cgroupRoot: string): string[] {
  const left = destroyCgroupRoot(cgroupRoot);
  // containerd's shims run outside the Pods' cgroups; find them by the socket in their argv.
  const sock = containerdSocket(paths);
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (argv.includes(sock) || argv.includes(`${paths.dir}/`)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours
    }
  }
  // The kubelet bind-mounts its root on itself; containerd leaves shm and overlay mounts.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === paths.dir || m.startsWith(`${paths.dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      left.push(m);
    }
  }
  try {
    rmSync(paths.dir, { recursive: true, force: true });
  } catch (err) {
    left.push(`${paths.dir}: ${(err as Error).message}`);
  }
  return left;
}
