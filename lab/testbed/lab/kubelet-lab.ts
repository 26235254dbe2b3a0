/**
 * The lab on real kubelets: a KubeletCluster (lab/testbed/kubelet) with meshlb
 * installed from deploy/ as docs/install.md says (its image, the DaemonSet and
 * the Deployment scheduled and started by Kubernetes), three dual-stack
 * LoadBalancer Services, and on every node an HTTP endpoint naming the node
 * (the Service IPs accepted on `lo`, as kube-proxy's IPVS mode would), so the
 * client shows who serves. `meshlb lab` runs it when the machine allows
 * (docs/kubelet-lab.md); faults act on the real parts: a speaker's container
 * process is signalled (the kubelet restarts it), NotReady is the kubelet
 * stopped until the node lifecycle controller says so.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { KubeletCluster, type KubeletClusterOptions } from '../kubelet/cluster.ts';
import { installMeshlb, SPEAKER_ARGV, waitRolledOut } from '../kubelet/install.ts';
import { createPool, createServices, serviceNames } from './services.ts';
import type { Host } from '../netns/index.ts';
import { speakerUrlOf } from '../speakers/index.ts';
import { poll } from '../poll.ts';
import type { Lab, LabService } from './lab.ts';
import { HttpAgent } from './probes.ts';
import { startWhoami } from './whoami-process.ts';

export interface KubeletLabOptions extends KubeletClusterOptions {
  /** LoadBalancer Services to create (dual-stack); default 3. */
  services?: number;
  /** More environment for every speaker (MESHLB_* settings). */
  speakerEnv?: Record<string, string>;
}

const HZ = 100; // USER_HZ: /proc/<pid>/stat's start time is in these ticks since boot

export class KubeletLab implements Lab {
  readonly kind = 'kubelets';
  readonly cluster: KubeletCluster;
  readonly services: readonly LabService[];
  readonly http: HttpAgent;
  readonly #whoami: ChildProcess[];

  private constructor(cluster: KubeletCluster, services: LabService[], whoami: ChildProcess[]) {
    this.cluster = cluster;
    this.services = services;
    this.#whoami = whoami;
    this.http = new HttpAgent(cluster.lan, this.client);
  }

  static async start(opts: KubeletLabOptions = {}): Promise<KubeletLab> {
    const say = opts.onProgress ?? (() => undefined);
    const cluster = await KubeletCluster.start({ prefix: 'mlbkl', ...opts, nodes: opts.nodes ?? 5 });
    const whoami: ChildProcess[] = [];
    try {
      say('installing meshlb from deploy/ (kustomize) with its image; Kubernetes schedules and starts it');
      await installMeshlb(
        cluster,
        'kustomize',
        opts.speakerEnv === undefined ? {} : { speakerEnv: opts.speakerEnv },
      );
      await waitRolledOut(cluster, 300_000);
      await createPool(cluster);
      say('waiting for the Services’ addresses');
      const services = await createServices(cluster, serviceNames(opts.services ?? 3));
      for (const host of cluster.lan.hosts) whoami.push(await startWhoami(cluster.lan, host));
      return new KubeletLab(cluster, services, whoami);
    } catch (err) {
      for (const w of whoami) w.kill('SIGKILL');
      await cluster.stop();
      throw err;
    }
  }

  get cp(): KubeletCluster['cp'] {
    return this.cluster.cp;
  }

  get lan(): KubeletCluster['lan'] {
    return this.cluster.lan;
  }

  get dir(): string {
    return this.cluster.root;
  }

  get nodes(): readonly Host[] {
    return this.lan.hosts;
  }

  get client(): Host {
    const c = this.lan.client;
    if (c === undefined) throw new Error('the lab LAN has no client');
    return c;
  }

  node(name: string): Host {
    return this.lan.host(name);
  }

  speakerUrl(node: string, path: string): string {
    return speakerUrlOf(this.node(node), path);
  }

  nodeOfMac(mac: string): string | undefined {
    return this.lan.hostOfMac(mac)?.name;
  }

  /** The speaker container's process on `node`. */
  #speakerPid(node: string): number | undefined {
    return this.cluster.node(node).containerPid(SPEAKER_ARGV);
  }

  youngestSpeakerMs(): number {
    let youngest = Infinity;
    for (const n of this.nodes) {
      const pid = this.#speakerPid(n.name);
      if (pid === undefined) return 0;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      youngest = Math.min(youngest, (uptime() - startTicks / HZ) * 1_000);
    }
    return youngest;
  }

  speakerExited(node: string): string | undefined {
    return this.#speakerPid(node) === undefined ? 'not running' : undefined;
  }

  async signalSpeaker(node: string, signal: NodeJS.Signals): Promise<string | undefined> {
    const pid = this.#speakerPid(node);
    if (pid === undefined) return 'not running';
    process.kill(pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      await poll(
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        15_000,
        20,
      );
      return signal;
    }
    return undefined;
  }

  /** The kubelet restarts an exited speaker container (restartPolicy Always, with its back-off). */
  reviveSpeaker(): void {
    // nothing to do
  }

  async cutLink(node: string): Promise<void> {
    this.cluster.api.cut(this.node(node));
    await this.lan.linkDown(this.node(node));
  }

  async restoreLink(node: string): Promise<void> {
    await this.lan.linkUp(this.node(node));
    await this.cluster.api.relay(this.lan, this.node(node));
  }

  /** NotReady as it happens: the kubelet stops and the node lifecycle controller notices (20 s in the lab). */
  async setReady(node: string, ready: boolean): Promise<void> {
    const n = this.cluster.node(node);
    if (ready) n.startKubelet();
    else await n.stopKubelet();
  }

  async cordon(node: string, on: boolean): Promise<void> {
    const r = await this.cp.kubectl([on ? 'cordon' : 'uncordon', node]);
    if (r.code !== 0) throw new Error(`kubectl ${on ? 'cordon' : 'uncordon'} ${node}: ${r.stderr}`);
  }

  async partition(a: readonly string[], b: readonly string[]): Promise<void> {
    await this.lan.partition(
      a.map((n) => this.node(n)),
      b.map((n) => this.node(n)),
    );
  }

  async heal(): Promise<void> {
    await this.lan.heal();
  }

  async stop(): Promise<void> {
    for (const w of this.#whoami) w.kill('SIGKILL');
    this.http.stop();
    await this.cluster.stop();
  }
}
