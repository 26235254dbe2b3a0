/**
 * The whole system on one machine: a real control plane, a LAN of network
 * namespaces (N nodes and a client), meshlb's CRDs and RBAC from deploy/, the
 * real controller, and one real speaker process per node with its own
 * ServiceAccount token, plus what kubelets and kube-proxy would do (Node
 * heartbeats and Leases, VIPs accepted on `lo`, an HTTP endpoint naming the
 * node). `meshlb lab` shows it; `meshlb chaos` breaks it on purpose.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { onExit } from '../cleanup.ts';
import { installCrds, startControlPlane, type ControlPlane } from '../controlplane/index.ts';
import { ApiAccess, createLan, requireNetns, type Host, type Lan } from '../netns/index.ts';
import type { Lab, LabService } from './lab.ts';
import { HttpAgent } from './probes.ts';
import { createPool, createServices, serviceNames } from './services.ts';
import { startWhoami } from './whoami-process.ts';
import { freePort } from '../ports.ts';
import { killChild, killGroup, spawnGroup, type GroupChild } from '../process-group.ts';
import {
  createSpeakerPod,
  registerNode,
  setNodeReady,
  speakerUrlOf,
  SPEAKER_NAMESPACE,
  SPEAKER_SERVICE_ACCOUNT,
  startSpeakerProcess,
  writeMeshKey,
} from '../speakers/index.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const RBAC = ['controller.yaml', 'speaker.yaml'].map((f) =>
  fileURLToPath(new URL(`../../../deploy/rbac/${f}`, import.meta.url)),
);
/** How often the lab's stand-in kubelets renew their Node Lease and heartbeat (the kubelet's 10 s). */
const HEARTBEAT_MS = 10_000;

export interface ClusterLabOptions {
  /** Nodes (speakers) on the LAN; default 5. */
  nodes?: number;
  /** LoadBalancer Services to create (dual-stack); default 3. */
  services?: number;
  /** Namespace-name prefix (stale ones of this prefix are swept). */
  prefix?: string;
  /** Progress lines for a person. */
  onProgress?: (line: string) => void;
  /** More environment for every speaker (MESHLB_* settings). */
  speakerEnv?: Record<string, string>;
}

export class ClusterLab implements Lab {
  readonly kind = 'processes';
  readonly cp: ControlPlane;
  readonly lan: Lan;
  readonly api: ApiAccess;
  readonly dir: string;
  readonly speakers = new Map<string, GroupChild>();
  /** Node → when its speaker process was last started (ms since the epoch). */
  readonly #speakerStartedAt = new Map<string, number>();
  controller: GroupChild | undefined;
  services: LabService[] = [];
  /** GETs from the client host (the speakers' endpoints listen on the LAN). */
  readonly http: HttpAgent;
  readonly #opts: ClusterLabOptions;
  readonly #speakerKubeconfig: string;
  readonly #controllerKubeconfig: string;
  readonly #keyFile: string;
  readonly #controllerPort: number;
  readonly #whoami = new Map<string, ChildProcess>();
  readonly #notReady = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #unregister: () => void;

  private constructor(
    cp: ControlPlane,
    lan: Lan,
    api: ApiAccess,
    dir: string,
    files: { speaker: string; controller: string; key: string; controllerPort: number },
    opts: ClusterLabOptions,
  ) {
    this.cp = cp;
    this.lan = lan;
    this.api = api;
    this.dir = dir;
    this.#speakerKubeconfig = files.speaker;
    this.#controllerKubeconfig = files.controller;
    this.#keyFile = files.key;
    this.#controllerPort = files.controllerPort;
    this.#opts = opts;
    this.http = new HttpAgent(lan, lan.client as Host);
    this.#unregister = onExit(() => {
      this.http.stop();
      for (const c of [...this.speakers.values(), this.controller])
        if (c !== undefined && c.exited() === undefined) killGroup(c.pid, 'SIGKILL');
      for (const w of this.#whoami.values()) w.kill('SIGKILL');
    });
  }

  get nodes(): readonly Host[] {
    return this.lan.hosts;
  }

  get client(): Host {
    return this.lan.client as Host;
  }

  node(name: string): Host {
    return this.lan.host(name);
  }

  /** A speaker's endpoint (/readyz, /debug/mesh, /metrics), as the client reaches it. */
  speakerUrl(node: string, path: string): string {
    return speakerUrlOf(this.node(node), path);
  }

  /** The node whose MAC this is. */
  nodeOfMac(mac: string): string | undefined {
    return this.lan.hostOfMac(mac)?.name;
  }

  static async start(opts: ClusterLabOptions = {}): Promise<ClusterLab> {
    requireNetns();
    const say = opts.onProgress ?? (() => undefined);
    const nodes = opts.nodes ?? 5;
    const dir = mkdtempSync(join(tmpdir(), 'meshlb-lab-'));
    say('starting the control plane (the first run builds it: about 4 minutes)');
    const cp = await startControlPlane({ onProgress: say, dualStack: true });
    let lan: Lan | undefined;
    let api: ApiAccess | undefined;
    try {
      say("applying meshlb's CRDs and RBAC (deploy/)");
      await installCrds(cp);
      for (const file of RBAC) {
        const r = await cp.kubectl(['apply', '--server-side', '-f', file]);
        if (r.code !== 0) throw new Error(`kubectl apply ${file}: ${r.stderr}`);
      }
      say(`building a LAN: ${nodes} nodes and a client in network namespaces`);
      lan = await createLan({ hosts: nodes, prefix: opts.prefix ?? 'mlblab' });
      api = await ApiAccess.open(cp.server);
      const files = {
        speaker: join(dir, 'speaker.kubeconfig'),
        controller: join(dir, 'controller.kubeconfig'),
        key: writeMeshKey(dir),
        controllerPort: await freePort(),
      };
      writeFileSync(
        files.speaker,
        (await cp.kubeConfigFor(SPEAKER_NAMESPACE, SPEAKER_SERVICE_ACCOUNT)).exportConfig(),
      );
      writeFileSync(
        files.controller,
        (await cp.kubeConfigFor(SPEAKER_NAMESPACE, 'meshlb-controller')).exportConfig(),
      );
      const lab = new ClusterLab(cp, lan, api, dir, files, opts);
      await lab.#setUp(say);
      return lab;
    } catch (err) {
      await api?.close();
      await lan?.teardown();
      await cp.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async #setUp(say: (line: string) => void): Promise<void> {
    const { cp, lan } = this;
    say('registering the nodes (Ready, with Leases) and their speaker Pods');
    for (const host of lan.hosts) {
      await this.api.relay(lan, host);
      await registerNode(cp.kubeConfig, host);
      await createSpeakerPod(cp.kubeConfig, host.name);
      await this.#startWhoami(host);
    }
    await this.#beat();
    this.#heartbeat = setInterval(() => {
      void this.#beat();
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    await createPool(this);
    say('starting the controller and a speaker on every node');
    this.startController();
    for (const host of lan.hosts) this.startSpeaker(host.name);
    say('waiting for the Services’ addresses');
    this.services = await createServices(this, serviceNames(this.#opts.services ?? 3));
  }

  async #startWhoami(host: Host): Promise<void> {
    this.#whoami.set(host.name, await startWhoami(this.lan, host));
  }

  /** The kubelets' heartbeat: Node Leases renewed, Ready conditions refreshed (except nodes marked NotReady). */
  async #beat(): Promise<void> {
    const coord = this.cp.kubeConfig.makeApiClient(CoordinationV1Api);
    const now = new Date();
    for (const host of this.lan.hosts) {
      try {
        await coord.replaceNamespacedLease({
          namespace: 'kube-node-lease',
          name: host.name,
          body: {
            metadata: { name: host.name, namespace: 'kube-node-lease' },
            spec: { holderIdentity: host.name, leaseDurationSeconds: 40, renewTime: now },
          },
        });
      } catch {
        await coord
          .createNamespacedLease({
            namespace: 'kube-node-lease',
            body: {
              metadata: { name: host.name },
              spec: { holderIdentity: host.name, leaseDurationSeconds: 40, renewTime: now },
            },
          })
          .catch(() => undefined);
      }
      if (!this.#notReady.has(host.name))
        await setNodeReady(this.cp.kubeConfig, host.name, 'True', host).catch(() => undefined);
    }
  }

  /** The controller's /metrics (127.0.0.1 in the root namespace). */
  get controllerMetricsUrl(): string {
    return `http://127.0.0.1:${this.#controllerPort}/metrics`;
  }

  /**
   * Starts the controller (again). Lease timings shortened from client-go's
   * 15 s / 10 s / 2 s so a killed leader's successor takes over in seconds.
   */
  startController(): GroupChild {
    const child = spawnGroup(
      [
        process.execPath,
        MAIN,
        'controller',
        '--kubeconfig',
        this.#controllerKubeconfig,
        '--metrics-addr',
        `127.0.0.1:${this.#controllerPort}`,
      ],
      join(this.dir, 'controller.log'),
      {
        ...process.env,
        KUBECONFIG: '',
        MESHLB_NAMESPACE: SPEAKER_NAMESPACE,
        MESHLB_LEASE_DURATION_MS: '4000',
        MESHLB_RENEW_DEADLINE_MS: '3000',
        MESHLB_RETRY_PERIOD_MS: '500',
      },
    );
    this.controller = child;
    return child;
  }

  /** Kills the controller (SIGKILL) and waits for it to exit. */
  async killController(): Promise<void> {
    await killChild(this.controller);
  }

  startSpeaker(node: string): GroupChild {
    const host = this.node(node);
    const child = startSpeakerProcess({
      lan: this.lan,
      host,
      pod: `meshlb-speaker-${node}`,
      kubeconfig: this.#speakerKubeconfig,
      meshKeyFile: this.#keyFile,
      log: join(this.dir, `speaker-${node}.log`),
      ...(this.#opts.speakerEnv === undefined ? {} : { env: this.#opts.speakerEnv }),
    });
    this.speakers.set(node, child);
    this.#speakerStartedAt.set(node, Date.now());
    return child;
  }

  speakerExited(node: string): string | undefined {
    return this.speakers.get(node)?.exited();
  }

  reviveSpeaker(node: string): void {
    if (this.speakerExited(node) !== undefined) this.startSpeaker(node);
  }

  /** How long ago the youngest speaker process was started (ms). */
  youngestSpeakerMs(): number {
    const now = Date.now();
    let youngest = Infinity;
    for (const at of this.#speakerStartedAt.values()) youngest = Math.min(youngest, now - at);
    return youngest;
  }

  /** Sends `signal` to a speaker; SIGKILL / SIGTERM wait for the exit. Returns its exit status. */
  async signalSpeaker(node: string, signal: NodeJS.Signals): Promise<string | undefined> {
    const child = this.speakers.get(node);
    if (child === undefined || child.exited() !== undefined) return child?.exited();
    this.#fault('signal', { node, signal });
    killGroup(child.pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      child.ref();
      await child.done;
    }
    return child.exited();
  }

  /**
   * The node's cable pulled: its LAN link goes down and, as on a node with one
   * NIC, it loses the API server too. (`apiReachable` cuts the API alone.)
   */
  async cutLink(node: string): Promise<void> {
    this.#fault('link cut', { node });
    this.api.cut(this.node(node));
    await this.lan.linkDown(this.node(node));
  }

  async restoreLink(node: string): Promise<void> {
    this.#fault('link restored', { node });
    await this.lan.linkUp(this.node(node));
    await this.api.relay(this.lan, this.node(node));
  }

  /** The Node's Ready condition, as its kubelet (or the node lifecycle controller) would write it. */
  async setReady(node: string, ready: boolean): Promise<void> {
    this.#fault('ready', { node, ready });
    if (ready) this.#notReady.delete(node);
    else this.#notReady.add(node);
    await setNodeReady(this.cp.kubeConfig, node, ready ? 'True' : 'False', this.node(node));
  }

  /** kubectl cordon / uncordon (spec.unschedulable). */
  async cordon(node: string, on: boolean): Promise<void> {
    await this.cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .patchNode(
        { name: node, body: { spec: { unschedulable: on ? true : null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  }

  async partition(a: readonly string[], b: readonly string[]): Promise<void> {
    this.#fault('partition', { a, b });
    await this.lan.partition(
      a.map((n) => this.node(n)),
      b.map((n) => this.node(n)),
    );
  }

  async heal(): Promise<void> {
    this.#fault('heal', {});
    await this.lan.heal();
  }

  /** Every speaker loses the API server (their relays stop), or gets it back. */
  async apiReachable(on: boolean): Promise<void> {
    for (const host of this.lan.hosts) {
      if (on) await this.api.relay(this.lan, host);
      else this.api.cut(host);
    }
  }

  /**
   * Notes a fault in `faults.log` beside the speakers' logs (one JSON line,
   * wall-clock `time` in ms like pino's), so a kept lab's logs can be read
   * against the moment each fault was injected (MESHLB_KEEP_LOGS=1).
   */
  #fault(what: string, fields: Record<string, unknown>): void {
    appendFileSync(
      join(this.dir, 'faults.log'),
      `${JSON.stringify({ time: Date.now(), fault: what, ...fields })}\n`,
    );
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    for (const c of [...this.speakers.values(), this.controller]) await killChild(c);
    for (const w of this.#whoami.values()) w.kill('SIGKILL');
    this.http.stop();
    this.#unregister();
    await this.api.close();
    await this.lan.teardown();
    await this.cp.stop();
    if (process.env.MESHLB_KEEP_LOGS === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}
