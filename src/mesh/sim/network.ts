import { VirtualClock } from '../../clock/index.ts';
import { encodedSize } from '../codec.ts';
import { LAN_FAST, type MeshConfig } from '../config.ts';
import type { ClaimStore } from '../claims.ts';
import type { MemberEvent } from '../events.ts';
import { Membership } from '../membership.ts';
import type { BroadcastMessage, DirectMessage, Endpoint, MemberSnapshot, Message } from '../messages.ts';
import type { MeshTransport } from '../transport.ts';
import { MemberClock } from './member-clock.ts';
import { mulberry32 } from './prng.ts';

/** Link behaviour between simulated members. */
export interface LinkModel {
  /** One-way latency in ms. */
  latencyMs: number;
  /** Uniform jitter: each delivery takes latency ± jitter (never below 0.05 ms). */
  jitterMs: number;
  /** Probability that a message is lost on the link. */
  loss: number;
}

export interface SimOptions {
  seed?: number;
  link?: Partial<LinkModel>;
  config?: Partial<MeshConfig>;
  /** Gossipsub mesh degree (D): each member floods gossip to this many mesh peers. */
  gossipDegree?: number;
  /** Per-message overhead of gossipsub framing + signature (bytes), added to the codec size. */
  gossipOverheadBytes?: number;
  /** Per-message overhead of a direct-stream frame (length prefix + yamux + noise). */
  directOverheadBytes?: number;
  /** The claim store of each member created (by name; a restarted member gets a new one). None by default. */
  claimStore?: (name: string) => ClaimStore;
}

export interface SimMember {
  name: string;
  core: Membership;
  clock: MemberClock;
  crashed: boolean;
  meshPeers: string[];
  sentMessages: number;
  sentBytes: number;
  events: MemberEvent[];
  /** Members its core told the transport to forget (reaped). */
  forgotten: number;
}

/**
 * The membership core over a simulated network, for scale and for faults the
 * real stack cannot produce on demand: per-link latency, jitter and loss,
 * partitions, crashes (silence: no FIN, no RST) and stalls. Deterministic for
 * a seed. Gossip dissemination models gossipsub as flooding over a fixed
 * random mesh of degree D with de-duplication, each hop a real (simulated)
 * message with its latency and loss.
 */
export class SimNetwork {
  readonly clock: VirtualClock;
  readonly random: () => number;
  readonly link: LinkModel;
  readonly members = new Map<string, SimMember>();
  readonly #opts: SimOptions;
  readonly #degree: number;
  #partition: Map<string, number> | undefined;
  #gossipId = 0;
  readonly #seen = new Map<string, Set<number>>();
  recordEvents = true;

  constructor(opts: SimOptions = {}) {
    this.#opts = opts;
    this.clock = new VirtualClock();
    this.random = mulberry32(opts.seed ?? 1);
    this.link = { latencyMs: 0.5, jitterMs: 0.2, loss: 0, ...opts.link };
    this.#degree = opts.gossipDegree ?? 6;
  }

  /** Adds n members named prefix-0 … that all know each other, and starts them. */
  addConverged(n: number, prefix = 'node'): SimMember[] {
    const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const created = names.map((name) => this.#create(name, 1));
    const snapshots: MemberSnapshot[] = created.map((m) => ({
      node: m.name,
      state: 'alive',
      incarnation: m.core.incarnation,
      endpoint: endpointOf(m.name),
    }));
    for (const m of created) m.core.seed(snapshots);
    this.#wireMesh();
    for (const m of created) m.core.start();
    return created;
  }

  /** Adds one member that joins through `seed` (push-pull), as a new speaker would. */
  join(name: string, seed: string, incarnation = 1): SimMember {
    const m = this.#create(name, incarnation);
    this.#wireMesh();
    m.core.start();
    m.core.join([endpointOf(seed)]);
    return m;
  }

  /** Silences a member at once (power off, link cut): no goodbye, no FIN. */
  crash(name: string): void {
    const m = this.#get(name);
    m.crashed = true;
    m.core.stop();
  }

  /** Restarts a crashed member with a higher incarnation; it rejoins via `seed`. */
  restart(name: string, seed: string): SimMember {
    const old = this.#get(name);
    this.members.delete(name);
    const m = this.join(name, seed, old.core.incarnation + 1);
    return m;
  }

  stall(name: string, ms: number): void {
    this.#get(name).clock.stall(ms);
  }

  /** Splits members into groups that cannot reach each other (unlisted members form group 0). */
  partition(groups: readonly (readonly string[])[]): void {
    this.#partition = new Map();
    groups.forEach((g, i) => {
      for (const name of g) this.#partition?.set(name, i + 1);
    });
  }

  heal(): void {
    this.#partition = undefined;
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Advances until `done()` holds (checked every `stepMs`) or `maxMs` passes; returns the time it held, or undefined. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 1): number | undefined {
    const end = this.clock.now() + maxMs;
    while (this.clock.now() < end) {
      if (done()) return this.clock.now();
      this.clock.advance(stepMs);
    }
    return done() ? this.clock.now() : undefined;
  }

  /** State of `node` as seen by every live (not crashed) member but itself. */
  viewsOf(node: string): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>();
    for (const m of this.members.values()) {
      if (m.crashed || m.name === node) continue;
      out.set(m.name, m.core.stateOf(node));
    }
    return out;
  }

  live(): SimMember[] {
    return [...this.members.values()].filter((m) => !m.crashed);
  }

  #get(name: string): SimMember {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no simulated member ${name}`);
    return m;
  }

  #create(name: string, incarnation: number): SimMember {
    const clock = new MemberClock(this.clock);
    const member: SimMember = {
      name,
      clock,
      crashed: false,
      meshPeers: [],
      sentMessages: 0,
      sentBytes: 0,
      events: [],
      forgotten: 0,
      core: undefined as unknown as Membership,
    };
    const transport: MeshTransport = {
      send: (to: string, endpoint: Endpoint | undefined, msg: DirectMessage) => {
        this.#direct(member, to === '' ? nameOf(endpoint) : to, msg);
      },
      broadcast: (msg: BroadcastMessage) => {
        this.#flood(member, msg, this.#gossipId++, undefined);
      },
      forget: () => {
        member.forgotten++;
      },
    };
    const coreConfig: Partial<MeshConfig> = { ...LAN_FAST, ...this.#opts.config };
    const claims = this.#opts.claimStore?.(name);
    member.core = new Membership({
      node: name,
      endpoint: endpointOf(name),
      clock,
      transport,
      config: coreConfig,
      random: mulberry32(Math.floor(this.random() * 2 ** 32)),
      incarnation,
      ...(claims === undefined ? {} : { claims }),
    });
    member.core.onEvent((e) => {
      if (this.recordEvents) member.events.push(e);
    });
    this.members.set(name, member);
    this.#seen.set(name, new Set());
    return member;
  }

  #wireMesh(): void {
    // A random graph where every member has about `degree` mesh peers (gossipsub keeps D_lo..D_hi).
    const names = [...this.members.keys()];
    for (const m of this.members.values()) {
      while (m.meshPeers.length < Math.min(this.#degree, names.length - 1)) {
        const other = names[Math.floor(this.random() * names.length)] as string;
        const o = this.members.get(other);
        if (o === undefined || other === m.name || m.meshPeers.includes(other)) continue;
        m.meshPeers.push(other);
        if (!o.meshPeers.includes(m.name)) o.meshPeers.push(m.name);
      }
    }
  }

  #delay(): number {
    const { latencyMs, jitterMs } = this.link;
    return Math.max(0.05, latencyMs + (this.random() * 2 - 1) * jitterMs);
  }

  #reachable(from: string, to: string): boolean {
    if (this.#partition === undefined) return true;
    return (this.#partition.get(from) ?? 0) === (this.#partition.get(to) ?? 0);
  }

  #account(from: SimMember, msg: Message, overhead: number): void {
    from.sentMessages++;
    from.sentBytes += encodedSize(msg) + overhead;
  }

  #transmit(from: SimMember, to: string, deliver: (m: SimMember) => void): void {
    if (!this.#reachable(from.name, to) || this.random() < this.link.loss) return;
    this.clock.setTimeout(() => {
      const target = this.members.get(to);
      if (target === undefined || target.crashed) return;
      target.clock.io(() => {
        if (!target.crashed) deliver(target);
      });
    }, this.#delay());
  }

  #direct(from: SimMember, to: string, msg: DirectMessage): void {
    if (from.crashed) return;
    this.#account(from, msg, this.#opts.directOverheadBytes ?? 40);
    this.#transmit(from, to, (target) => {
      target.core.handle(msg);
    });
  }

  #flood(from: SimMember, msg: BroadcastMessage, id: number, cameFrom: string | undefined): void {
    if (from.crashed) return;
    this.#seen.get(from.name)?.add(id);
    for (const peer of from.meshPeers) {
      if (peer === cameFrom) continue;
      const p = this.members.get(peer);
      if (p === undefined || p.crashed) continue;
      this.#account(from, msg, this.#opts.gossipOverheadBytes ?? 120);
      this.#transmit(from, peer, (target) => {
        const seen = this.#seen.get(target.name);
        if (seen === undefined || seen.has(id)) return;
        target.core.handle(msg);
        this.#flood(target, msg, id, from.name);
      });
    }
  }
}

function endpointOf(name: string): Endpoint {
  return { peerId: `sim-${name}`, addrs: [`/sim/${name}`] };
}

function nameOf(endpoint: Endpoint | undefined): string {
  return endpoint?.addrs[0]?.replace('/sim/', '') ?? '';
}
