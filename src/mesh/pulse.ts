/**
 * The pulse: an announcer's heartbeats to its heirs, sent and watched outside
 * the event loop (native/pulse.c, docs/election.md "The pulse"). This is the
 * mesh's side: which members to pulse and to watch, their ids and keys, the
 * lease that keeps a hung event loop from pulsing, and the events the close
 * watch (watch.ts) acts on. The link itself (the addon's thread) is given.
 */
import { createHash } from 'node:crypto';
import type { Clock, Timer } from '../clock/index.ts';

/** Settings of the pulse (under `speaker.watch`, docs/configuration.md). */
export interface PulseConfig {
  /** Between an announcer's pulses to each heir. Lower sees a cut sooner; costs one 28-byte datagram per heir per interval, sent by a native thread. */
  pulseIntervalMs: number;
  /** An heir that heard nothing for this long asks at once (a confirming check). 3 intervals: one or two lost pulses are not a silence. */
  pulseSilenceMs: number;
  /** The confirming check's deadline for a direct or relayed ack; a pulse arriving meanwhile ends it too. */
  pulseConfirmMs: number;
  /** Pulses go only this long after the event loop last renewed the lease (every third of it): a loop hung longer falls silent. */
  pulseLeaseMs: number;
}

export const PULSE_DEFAULTS: PulseConfig = Object.freeze({
  pulseIntervalMs: 5,
  pulseSilenceMs: 15,
  pulseConfirmMs: 20,
  pulseLeaseMs: 300,
});

/** What an heir heard of an announcer's pulses: its first (or first again after a silence), or a silence. */
export type PulseEvent = 'heard' | 'silent';

/** The addon's pulse (src/arp/pulse-socket.ts), as the mesh uses it. */
export interface PulseLink {
  /** The local UDP port. */
  readonly port: number;
  targets(targets: readonly { address: string; port: number; key: Uint8Array }[]): void;
  watch(watched: readonly { id: Uint8Array; key: Uint8Array; silenceMs: number }[]): void;
  renew(): void;
  /** Milliseconds since the last pulse accepted from `id`, or undefined if none. */
  heardAgoMs(id: Uint8Array): number | undefined;
  /** Events: `id` in hex. */
  onEvent(listener: (event: PulseEvent, id: string, agoMs: number) => void): void;
  close(): void;
}

/** How to reach a member's pulse: its address and the pair's 16-byte pulse key. */
export interface PulsePeers {
  reach(node: string): { address: string; key: Uint8Array } | undefined;
}

/** A member's 8-byte pulse id: the frame names its sender with it. */
export function pulseIdOf(node: string): Uint8Array {
  return createHash('sha256').update(`meshlb/pulse/1 ${node}`).digest().subarray(0, 8);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class Pulses {
  readonly config: PulseConfig;
  readonly #clock: Clock;
  readonly #link: PulseLink;
  readonly #peers: PulsePeers;
  /** The port every member's pulse listens on (one setting for the cluster). */
  readonly #port: number;
  readonly #listeners = new Set<(node: string, event: PulseEvent) => void>();
  /** Watched: hex id → node. */
  readonly #byId = new Map<string, string>();
  #targets: readonly string[] = [];
  #watched: readonly string[] = [];
  #lastTargets = '';
  #lastWatched = '';
  #renewal: Timer | undefined;
  #stopped = false;

  constructor(opts: {
    clock: Clock;
    link: PulseLink;
    peers: PulsePeers;
    port: number;
    config?: Partial<PulseConfig>;
  }) {
    this.#clock = opts.clock;
    this.#link = opts.link;
    this.#peers = opts.peers;
    this.#port = opts.port;
    this.config = { ...PULSE_DEFAULTS, ...opts.config };
    this.#link.onEvent((event, id) => {
      const node = this.#byId.get(id);
      if (node !== undefined) for (const l of this.#listeners) l(node, event);
    });
  }

  start(): void {
    this.#renew();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#renewal?.cancel();
    this.#link.close();
  }

  /** Pulse these members (the heirs of what this node announces). */
  pulse(nodes: Iterable<string>): void {
    this.#targets = [...new Set(nodes)].sort();
    this.refresh();
  }

  /** Watch these members' pulses (the announcers this node is an heir of). */
  watch(nodes: Iterable<string>): void {
    this.#watched = [...new Set(nodes)].sort();
    this.refresh();
  }

  /** Members whose address or key was unknown may be reachable now: pass the sets again. */
  refresh(): void {
    if (this.#stopped) return;
    const targets = this.#targets.flatMap((node) => {
      const r = this.#peers.reach(node);
      return r === undefined ? [] : [{ node, address: r.address, port: this.#port, key: r.key }];
    });
    const t = targets.map((x) => `${x.node}@${x.address}/${hex(x.key)}`).join(',');
    if (t !== this.#lastTargets) {
      this.#lastTargets = t;
      this.#link.targets(targets);
    }
    const watched = this.#watched.flatMap((node) => {
      const r = this.#peers.reach(node);
      return r === undefined
        ? []
        : [{ node, id: pulseIdOf(node), key: r.key, silenceMs: this.config.pulseSilenceMs }];
    });
    const w = watched.map((x) => `${x.node}/${hex(x.key)}`).join(',');
    if (w !== this.#lastWatched) {
      this.#lastWatched = w;
      this.#byId.clear();
      for (const x of watched) this.#byId.set(hex(x.id), x.node);
      this.#link.watch(watched);
    }
  }

  /** Whether a pulse from `node` arrived at or after `at` (this clock's time). */
  heardSince(node: string, at: number): boolean {
    const ago = this.#link.heardAgoMs(pulseIdOf(node));
    return ago !== undefined && this.#clock.now() - ago >= at;
  }

  onChange(listener: (node: string, event: PulseEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Members this node pulses, and watches (with a known address and key). */
  get state(): { pulsing: number; watching: number } {
    return {
      pulsing: this.#lastTargets === '' ? 0 : this.#lastTargets.split(',').length,
      watching: this.#byId.size,
    };
  }

  #renew(): void {
    if (this.#stopped) return;
    this.#link.renew();
    this.#renewal = this.#clock.setTimeout(() => {
      this.#renew();
    }, this.config.pulseLeaseMs / 3);
  }
}
