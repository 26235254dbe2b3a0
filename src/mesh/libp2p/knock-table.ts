/**
 * Which members the transport has knocked on (knock.ts) after their last
 * connection closed, and what came of it: a knock in flight, or the time it
 * was refused. While either holds, probes and checks of that member go as
 * datagrams only (no libp2p dial); anything the member sends clears it.
 */
import { BoundedMap } from '../bounded-map.ts';
import type { Endpoint } from '../messages.ts';
import { knock, tcpAddressOf, type KnockOutcome } from './knock.ts';

/**
 * How long a refused knock keeps probes and checks of that member to
 * datagrams (no libp2p dial), unless it sends us something first. Its
 * process is gone: a restarted one contacts us as it joins.
 */
const REFUSED_QUIET_MS = 1_000;

/** Knocks sent at once by a probe (see probe). */
const PROBE_KNOCKS = 3;

/**
 * How long a probe holds its first accepted knock open (knock.ts): a killed
 * process's listener resets it when it closes, the moment a refusal would
 * come, instead of at the next knock. Longer than the close watch's stall
 * window (pulseStallMs, 70 ms by default), so a held knock spans it.
 */
const PROBE_HOLD_MS = 100;

export class KnockTable {
  /** Node name → the endpoint it was last sent to (where knock knocks). */
  readonly #endpointOfNode: BoundedMap<string, Endpoint>;
  /** Node name → its knock: in flight, or when it was refused. Anything it sends clears it. */
  readonly #knocks: BoundedMap<string, 'knocking' | number>;
  readonly #onRefused: (node: string) => void;
  /** Nodes with a knock held open now: one at a time each, whatever the probes (libp2p bounds pending inbound connections). */
  readonly #held = new Set<string>();

  /** `max`: nodes remembered per table; `onRefused`: a knock on that member was refused. */
  constructor(max: number, onRefused: (node: string) => void) {
    this.#endpointOfNode = new BoundedMap<string, Endpoint>(max);
    this.#knocks = new BoundedMap<string, 'knocking' | number>(max);
    this.#onRefused = onRefused;
  }

  /** A message went to `node` at `endpoint` (with a peer ID): knocks go there. */
  sentTo(node: string, endpoint: Endpoint): void {
    this.#endpointOfNode.set(node, endpoint);
  }

  /** After a member's last connection closed: is its process gone? (knock.ts) */
  knock(node: string): void {
    const endpoint = this.#endpointOfNode.get(node);
    const at = endpoint === undefined ? undefined : tcpAddressOf(endpoint.addrs);
    if (at === undefined) return;
    this.#knocks.set(node, 'knocking');
    knock(at, (outcome) => {
      if (this.#knocks.get(node) !== 'knocking') return; // it spoke meanwhile
      if (outcome !== 'refused') {
        this.#knocks.delete(node);
        return;
      }
      this.#knocks.set(node, Date.now());
      this.#onRefused(node);
    });
  }

  /**
   * Whether `node`'s host is up, for the close watch after its pulse fell
   * silent: a knock of its own (the knock state above is untouched), whose
   * refusal is also reported as one. `done` gets the first answer and, when a
   * held knock (PROBE_HOLD_MS) is reset after an 'up', 'refused' a second time.
   */
  probe(node: string, timeoutMs: number, done: (outcome: KnockOutcome) => void): void {
    const endpoint = this.#endpointOfNode.get(node);
    const at = endpoint === undefined ? undefined : tcpAddressOf(endpoint.addrs);
    if (at === undefined) {
      done('none');
      return;
    }
    // Several at once: under loss one SYN or its answer is lost (5% per
    // bridge crossing: ~19% of knocks), and a lost knock reads as a cut host
    // (measured: a false takeover in 2 minutes at 5% loss). Any answer wins.
    let pending = PROBE_KNOCKS;
    let settled = false;
    let gone = false;
    const refusedNow = (): void => {
      if (gone) return;
      gone = true;
      this.#knocks.set(node, Date.now());
      this.#onRefused(node);
    };
    for (let i = 0; i < PROBE_KNOCKS; i++) {
      const hold = i === 0 && !this.#held.has(node);
      if (hold) this.#held.add(node);
      const released = (): void => {
        if (hold) this.#held.delete(node);
      };
      knock(
        at,
        (outcome) => {
          pending--;
          if (outcome !== 'up') released();
          else if (hold) setTimeout(released, PROBE_HOLD_MS);
          if (settled || (outcome === 'none' && pending > 0)) return;
          settled = true;
          if (outcome === 'refused') refusedNow();
          done(outcome);
        },
        {
          timeoutMs,
          holdMs: hold ? PROBE_HOLD_MS : 0,
          onReset: () => {
            released();
            if (gone) return;
            refusedNow();
            done('refused');
          },
        },
      );
    }
  }

  /** A knock on `node` is out, or was refused under REFUSED_QUIET_MS ago. */
  knockedOut(node: string): boolean {
    const k = this.#knocks.get(node);
    if (k === undefined) return false;
    if (k === 'knocking' || Date.now() - k < REFUSED_QUIET_MS) return true;
    this.#knocks.delete(node);
    return false;
  }

  /** `node` spoke to us directly: no longer knocked out. */
  spoke(node: string): void {
    this.#knocks.delete(node);
  }

  /** Member `node` was reaped: its endpoint and knock go. */
  forget(node: string): void {
    this.#endpointOfNode.delete(node);
    this.#knocks.delete(node);
  }

  get endpoints(): number {
    return this.#endpointOfNode.size;
  }

  get knocks(): number {
    return this.#knocks.size;
  }
}
