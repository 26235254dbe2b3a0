import type { Logger } from 'pino';
import type { Clock, Startable, Timer } from '../clock/index.ts';
import type { Endpoint, MemberState } from '../mesh/index.ts';

/**
 * After isolation, how long a speaker waits for the standing claims (a
 * push-pull reply) before it announces what its own claims say, in rounds of
 * the mesh's reconnect interval: both sides of a cut consider the other dead,
 * and learn otherwise when a reconnect attempt (every reconnectIntervalMs)
 * gets through. Measured: about 3 s after the cable came back (lan-fast: 1 s
 * rounds), so 3 rounds; a 1 s wait let a returning node re-announce a stale claim.
 */
export const RESYNC_ROUNDS = 3;

/**
 * How often, in parts of a reconnect interval, the resync asks again for the
 * standing claims while none came: its first ask often leaves before the link
 * back up can carry it (measured in the chaos lab at N = 8: the one push-pull
 * sent 1 ms after the link came up was lost, and the node held its link and
 * every take for the full 3 s).
 */
export const RESYNC_ASKS_PER_ROUND = 4;

export interface ResyncInit {
  clock: Clock;
  log: Logger;
  /** The mesh's reconnect interval: the resync lasts RESYNC_ROUNDS of them at most. */
  reconnectIntervalMs: number;
  /** Called when the resync's time is up (the speaker reconciles). */
  onChange: () => void;
}

/** A member the resync may ask for the standing claims. */
export interface ResyncPeer {
  node: string;
  endpoint: Endpoint;
}

/**
 * Back from a time a speaker could not see the others (its link was down, or
 * it was cut off from the mesh and the API server): what it believes of them
 * is stale (it suspected or declared dead members that were fine, and missed
 * the claims made meanwhile). Taking IPs on that view moved them back to the
 * returning node after most chaos link cuts at N = 8, even cuts shorter than
 * the isolation grace; so it takes nothing until the resync is over: a
 * push-pull has brought the standing claims and no member is believed dead or
 * suspected any more, or RESYNC_ROUNDS reconnect intervals have passed.
 *
 * The speaker calls `after(why)` when it comes back, `begin(peer, join)` at every
 * reconcile (it begins a pending resync and asks the first live member for a
 * push-pull), `holds(states)` to know whether takes wait, and `heard()` when
 * a push-pull brought claims.
 */
export class Resync implements Startable {
  readonly #init: ResyncInit;
  /** A resync is to start at the next reconcile. */
  #pending = false;
  /** The resync's push-pull is still to be asked for (once a member is alive). */
  #ask = false;
  /** Monotonic ms the resync started; undefined when none is running. */
  #since: number | undefined;
  /** A push-pull brought the standing claims during the resync. */
  #heard = false;
  /** Ends the wait for the standing claims. */
  #timer: Timer | undefined;
  /** When the standing claims were last asked for; the timer that asks again. */
  #askedAt: number | undefined;
  #retry: Timer | undefined;
  #stopped = false;

  constructor(init: ResyncInit) {
    this.#init = init;
  }

  get #ms(): number {
    return RESYNC_ROUNDS * this.#init.reconnectIntervalMs;
  }

  /** Asks for a resync at the next reconcile (unless one is pending or running); true if it did. */
  after(why: string): boolean {
    if (this.#pending || this.#since !== undefined) return false;
    this.#pending = true;
    this.#init.log.info({ why }, 'resyncing before taking anything');
    return true;
  }

  /** The speaker stood down (isolated): when it may announce again, it resyncs first. */
  standDown(): void {
    this.#since = undefined; // set when it comes back
    this.#pending = true;
    this.#retry?.cancel();
    this.#retry = undefined;
  }

  /**
   * Begins a pending resync, and asks `peer()` (the first member alive in the
   * speaker's view, if any yet) for the standing claims: `join` is given its
   * endpoint (a join to a known member is a push-pull); again every
   * reconnect interval / RESYNC_ASKS_PER_ROUND until they come.
   */
  begin(peer: () => ResyncPeer | undefined, join: (endpoint: Endpoint) => void): void {
    if (this.#stopped) return; // no wait is armed after stop()
    if (this.#pending) {
      this.#pending = false;
      this.#ask = true;
      this.#since = this.#init.clock.now();
      this.#heard = false;
      this.#askedAt = undefined;
      this.#timer?.cancel();
      this.#timer = this.#init.clock.setTimeout(this.#init.onChange, this.#ms);
    }
    if (this.#since === undefined || this.#heard) return;
    const now = this.#init.clock.now();
    const again = this.#askedAt !== undefined && now - this.#askedAt >= this.#retryMs;
    if (!this.#ask && !again) return;
    const p = peer();
    if (p === undefined) return;
    this.#ask = false;
    this.#askedAt = now;
    this.#init.log.info({ peer: p.node, again }, 'resync: asking for the standing claims first');
    join(p.endpoint);
    // Unless they come, a reconcile asks again (through begin()).
    this.#retry?.cancel();
    this.#retry = this.#init.clock.setTimeout(this.#init.onChange, this.#retryMs);
  }

  get #retryMs(): number {
    return this.#init.reconnectIntervalMs / RESYNC_ASKS_PER_ROUND;
  }

  /** A push-pull brought the standing claims; true if that matters to a running resync. */
  heard(): boolean {
    if (this.#since === undefined || this.#heard) return false;
    this.#heard = true;
    this.#retry?.cancel();
    this.#retry = undefined;
    return true;
  }

  /**
   * Whether the resync still holds takes back. The first push-pull alone is
   * not enough: the members it accused while cut off stay suspect or dead in
   * its view until they refute (they never heard the accusation), and the
   * election would take their IPs meanwhile. A member that really died keeps
   * the resync to its full length (3 s with lan-fast).
   */
  holds(states: ReadonlyMap<string, MemberState>): boolean {
    if (this.#since === undefined) return false;
    const over =
      this.#init.clock.now() - this.#since >= this.#ms ||
      (this.#heard && ![...states.values()].some((state) => state === 'dead' || state === 'suspect'));
    if (over) {
      this.#since = undefined;
      this.#askedAt = undefined;
      this.#retry?.cancel();
      this.#retry = undefined;
    }
    return !over;
  }

  start(): void {
    // Nothing to arm: a resync begins at a reconcile after the speaker comes back.
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#retry?.cancel();
    this.#retry = undefined;
  }
}
