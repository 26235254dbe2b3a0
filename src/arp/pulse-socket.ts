/**
 * The addon's pulse (native/pulse.c) as an object: a thread that sends this
 * node's heartbeats to the heirs that subscribed, and subscribes to and
 * watches the announcers this node is an heir of (the mesh's side:
 * mesh/pulse.ts). Opening binds the UDP port; the thread runs until close().
 */
import {
  errnoCode,
  loadAddon,
  type NativePulseHandle,
  type PulseStats,
  type PulseWatched,
} from './native.ts';

export type { PulseStats, PulseWatched } from './native.ts';

/** The pulse's port could not be opened (in use, not permitted, no such address). */
export class PulseSocketError extends Error {
  override readonly name = 'PulseSocketError';
  readonly code: string;
  constructor(address: string, port: number, code: string, cause: unknown) {
    super(`cannot open the pulse on UDP ${address}:${port}: ${code}`, { cause });
    this.code = code;
  }
}

export interface PulseSocketOptions {
  /** The node's address (the mesh's). */
  address: string;
  /** 0: any free port (tests). */
  port: number;
  /** This node's 8-byte pulse id (mesh/pulse.ts: pulseIdOf). */
  id: Uint8Array;
  intervalMs: number;
  leaseMs: number;
}

export class PulseSocket {
  readonly port: number;
  readonly #h: NativePulseHandle;
  readonly #listeners: ((event: 'heard' | 'silent', id: string, agoMs: number) => void)[] = [];
  #closed = false;

  constructor(opts: PulseSocketOptions) {
    const addon = loadAddon();
    try {
      this.#h = addon.openPulse(opts, (event, id, agoMs) => {
        for (const l of this.#listeners) l(event, id, agoMs);
      });
    } catch (err) {
      const e = errnoCode(err);
      if (e !== undefined) throw new PulseSocketError(opts.address, opts.port, e.code, err);
      throw err;
    }
    this.port = addon.pulsePort(this.#h);
  }

  peers(peers: readonly { id: Uint8Array; key: Uint8Array }[]): void {
    if (!this.#closed) loadAddon().pulsePeers(this.#h, peers);
  }

  watch(watched: readonly PulseWatched[]): void {
    if (!this.#closed) loadAddon().pulseWatch(this.#h, watched);
  }

  renew(): void {
    if (!this.#closed) loadAddon().pulseRenew(this.#h);
  }

  heardAgoMs(id: Uint8Array): number | undefined {
    if (this.#closed) return undefined;
    const ago = loadAddon().pulseHeard(this.#h, id);
    return ago < 0 ? undefined : ago;
  }

  onEvent(listener: (event: 'heard' | 'silent', id: string, agoMs: number) => void): void {
    this.#listeners.push(listener);
  }

  stats(): PulseStats | undefined {
    return this.#closed ? undefined : loadAddon().pulseStats(this.#h);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    loadAddon().pulseClose(this.#h);
  }
}
