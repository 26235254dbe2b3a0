import type { Clock, Startable, Timer } from '../clock/index.ts';
import { IsolationGuard, type IsolationConfig } from '../election/index.ts';

/** What this speaker may do now. */
export interface Permission {
  /** Keep answering for what it holds (false: isolated past the grace: withdraw everything). */
  announce: boolean;
  /** Take IPs over (a takeover, a new IP, a failback). */
  take: boolean;
}

export interface ReachabilityInit {
  clock: Clock;
  isolation?: Partial<IsolationConfig>;
  /** One request to the API server, given up after timeoutMs; resolves when it answered (GET /version). */
  probe: (timeoutMs: number) => Promise<unknown>;
  /** Called after each probe, to re-evaluate (the grace may have run out, or the API answered). */
  onProbed: () => void;
}

/**
 * The isolation rule (IsolationGuard) as the speaker applies it: may announce
 * while it reaches a majority of the members it knows, or the API server,
 * and for graceMs after it lost both. Taking an IP over needs more than the
 * grace: the majority now, or an API request that succeeded since the
 * majority was lost. A node cut off (a pulled cable, a partition's minority)
 * sees everyone else dead; within the grace it keeps what it holds, but its
 * view is no ground to take the others' IPs (it would claim them, and win
 * them back when the cut heals: chaos found it).
 *
 * The API server is probed (at once, then every third of the grace) only
 * while the majority is lost: a healthy cluster costs the API server nothing.
 */
export class Reachability implements Startable {
  readonly #init: ReachabilityInit;
  readonly #guard: IsolationGuard;
  #apiOkAt: number | undefined;
  #minoritySince: number | undefined;
  #cutOffSince: number | undefined;
  #probe: Timer | undefined;
  #stopped = false;

  constructor(init: ReachabilityInit) {
    this.#init = init;
    this.#guard = new IsolationGuard(init.isolation);
  }

  /** Monotonic ms of the last API request that succeeded while the majority was lost. */
  get apiOkAt(): number | undefined {
    return this.#apiOkAt;
  }

  /**
   * Monotonic ms since when this speaker has been cut off from everything: it
   * had lost the majority and an API request failed too (a pulled cable, not
   * the others failing). Its view of the mesh from that time is stale: when
   * it reaches the others again it still believes many of them dead, and
   * taking their IPs on that view moved them to the returning node (chaos:
   * most link cuts at N = 8, even ones shorter than the grace). Stays set
   * until clearCutOff(): the speaker resyncs first.
   */
  get cutOffSince(): number | undefined {
    return this.#cutOffSince;
  }

  clearCutOff(): void {
    this.#cutOffSince = undefined;
  }

  /** `reachable`: members alive or suspect (this one included); `known`: all but those that left. */
  evaluate(reachable: number, known: number): Permission {
    const now = this.#init.clock.now();
    const majority = reachable * 2 > known;
    if (majority) {
      this.#probe?.cancel();
      this.#probe = undefined;
      this.#minoritySince = undefined;
    } else {
      this.#minoritySince ??= now;
      if (this.#probe === undefined) this.#schedule(0);
    }
    const announce = this.#guard.mayAnnounce({ now, reachable, known, apiOkAt: this.#apiOkAt });
    const take =
      announce &&
      (majority ||
        (this.#apiOkAt !== undefined &&
          this.#minoritySince !== undefined &&
          this.#apiOkAt >= this.#minoritySince));
    return { announce, take };
  }

  start(): void {
    // Nothing to arm: the probes start when the majority is lost (evaluate()).
  }

  stop(): void {
    this.#stopped = true;
    this.#probe?.cancel();
    this.#probe = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return; // no probe is armed after stop()
    const every = Math.max(100, Math.floor(this.#guard.config.graceMs / 3));
    const timer = this.#init.clock.setTimeout(() => {
      // A probe that hangs (the link is cut) fails by the next one's time.
      this.#init
        .probe(every)
        .then(
          () => {
            this.#apiOkAt = this.#init.clock.now();
          },
          () => {
            if (this.#minoritySince !== undefined) this.#cutOffSince ??= this.#init.clock.now();
          },
        )
        .finally(() => {
          // Stopped meanwhile (the majority came back), or a newer probe runs.
          if (this.#probe !== timer || this.#stopped) return;
          this.#schedule(every);
          this.#init.onProbed();
        });
    }, delayMs);
    this.#probe = timer;
  }
}
