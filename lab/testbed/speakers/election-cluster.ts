/**
 * A cluster of election-member processes for the election benchmarks:
 * starts them, waits for the mesh to converge, agrees on the first announcers
 * (what every speaker computes from the same view) and records what the
 * members report (alive counts, announce / withdraw decisions).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { decide, type Claim, type World } from '../../../src/election/index.ts';
import { memberScript, startMember, type MemberProcess } from './member-process.ts';

export interface Placement {
  netns?: string;
  listen?: string;
  allow?: string;
}

export class ElectionCluster {
  readonly names: string[];
  readonly ips = Array.from({ length: 16 }, (_, i) => `198.51.100.${i + 10}`);
  readonly members = new Map<string, MemberProcess>();
  readonly alive = new Map<string, number>();
  readonly announces: {
    ip: string;
    by: string;
    epoch: number;
    t: number;
    cause?: string;
    previousMesh?: string;
    previousWatchFailed?: boolean;
  }[] = [];
  readonly withdraws: { ip: string; by: string; t: number }[] = [];
  readonly claims = new Map<string, Claim>();
  /** Node updates each member has applied (after its reconcile), in order. */
  readonly applied: { by: string; node: string; ready: string; t: number }[] = [];
  /** Suspicions raised and members declared dead, as each member saw them (the soak's evidence). */
  readonly meshEvents: { by: string; type: string; node: string; via: string; t: number }[] = [];
  /** Every timestamped line, when MESH_DEBUG is set. */
  readonly debug: Record<string, unknown>[] = [];
  readonly #key = randomBytes(32).toString('hex');
  readonly #script: string;
  readonly #nodeFlags: string;
  readonly #place: (name: string) => Placement;
  #first: MemberProcess | undefined;

  constructor(opts: {
    members: number;
    runtime: string;
    nodeFlags: string;
    place?: (name: string) => Placement;
  }) {
    this.names = Array.from({ length: opts.members }, (_, i) => `speaker-${i + 1}`);
    this.#script = memberScript('election-member', opts.runtime);
    this.#nodeFlags = opts.nodeFlags;
    this.#place = opts.place ?? (() => ({}));
  }

  get first(): MemberProcess {
    if (this.#first === undefined) throw new Error('boot() first');
    return this.#first;
  }

  #onLine = (by: string, msg: Record<string, unknown>): void => {
    if (process.env.MESH_DEBUG !== undefined && typeof msg.t === 'number') this.debug.push({ by, ...msg });
    if (typeof msg.alive === 'number') this.alive.set(by, msg.alive);
    if (typeof msg.mesh === 'string') {
      this.meshEvents.push({
        by,
        type: msg.mesh,
        node: String(msg.node),
        via: String(msg.via),
        t: Number(msg.t),
      });
    }
    if (msg.applied === 'nodeReady') {
      this.applied.push({ by, node: String(msg.node), ready: String(msg.condition), t: Number(msg.t) });
    }
    if (typeof msg.withdraw === 'string') this.withdraws.push({ ip: msg.withdraw, by, t: Number(msg.t) });
    if (typeof msg.announce === 'string') {
      const a = {
        ip: msg.announce,
        by,
        epoch: Number(msg.epoch),
        t: Number(msg.t),
        cause: String(msg.cause),
        previousMesh: String(msg.previousMesh),
        previousWatchFailed: msg.previousWatchFailed === true,
      };
      this.announces.push(a);
      const cur = this.claims.get(a.ip);
      if (cur === undefined || a.epoch > cur.epoch)
        this.claims.set(a.ip, { ip: a.ip, node: by, epoch: a.epoch });
    }
  };

  async start(name: string): Promise<MemberProcess> {
    this.alive.delete(name);
    const p = this.#place(name);
    const env: Record<string, string> = { MESH_KEY: this.#key };
    if (p.listen !== undefined) env.MESH_LISTEN = p.listen;
    if (p.allow !== undefined) env.MESH_ALLOW = p.allow;
    const m = await startMember(this.#script, {
      name,
      env,
      nodeFlags: this.#nodeFlags,
      onLine: this.#onLine,
      ...(p.netns === undefined ? {} : { netns: p.netns }),
    });
    this.members.set(name, m);
    return m;
  }

  async until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await delay(5);
    }
  }

  converged(): boolean {
    return this.names.every((n) => this.alive.get(n) === this.names.length);
  }

  settle(m: MemberProcess): void {
    m.send({ settle: { nodes: this.names, ips: this.ips, claims: [...this.claims.values()] } });
  }

  /** Starts every member, waits for convergence and the first announcements. */
  async boot(): Promise<void> {
    this.#first = await this.start(this.names[0] as string);
    for (const n of this.names.slice(1)) (await this.start(n)).send({ join: [this.#first.endpoint] });
    await this.until('the mesh to converge', () => this.converged(), 20_000);
    const world0: World = {
      nodes: new Map(
        this.names.map((name) => [
          name,
          {
            name,
            ready: 'True' as const,
            networkUnavailable: false,
            deleting: false,
            unschedulable: false,
            taints: [],
            labels: {},
          },
        ]),
      ),
      members: new Map(this.names.map((n) => [n, 'alive' as const])),
      advertisements: [
        {
          name: 'l2',
          pools: ['default'],
          nodeSelectors: [],
          interfaces: [],
          cordon: 'keep',
          failback: false,
        },
      ],
      ips: this.ips.map((ip) => ({ ip, pool: 'default' })),
      claims: new Map(),
    };
    for (const d of decide(world0)) if (d.claim !== undefined) this.claims.set(d.ip, d.claim);
    for (const m of this.members.values()) this.settle(m);
    await this.until('the first announcements', () => this.announces.length >= this.ips.length);
  }

  stop(): void {
    for (const m of this.members.values()) m.proc.kill('SIGKILL');
  }
}
