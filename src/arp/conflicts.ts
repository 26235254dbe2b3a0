import type { Clock } from '../clock/index.ts';

/** How a foreign MAC showed that it uses one of our IPs. */
export type ConflictEvidence =
  /** It answered our RFC 5227 probe / DAD solicitation. */
  | 'probe-answered'
  /** An ARP reply with the IP as sender. */
  | 'arp-reply'
  /** An ARP request (or gratuitous ARP) sent from the IP. */
  | 'arp-sender'
  /** A neighbour advertisement for the IP. */
  | 'na'
  /** A neighbour solicitation sent from the IP. */
  | 'ns-sender'
  /** A duplicate address detection solicitation for the IP: a host is configuring it. */
  | 'dad';

export interface Conflict {
  ip: string;
  ifname: string;
  foreignMac: string;
  evidence: ConflictEvidence;
  /** Wall-clock ms. */
  at: number;
}

/**
 * Decides which sightings of a foreign MAC using one of our IPs are worth
 * reporting: not during the hand-off grace after we started announcing (the
 * previous announcer answers on purpose for a moment), and the same (IP,
 * MAC) at most once per report interval. Reporting is all meshlb does about
 * a conflict: it never floods the LAN to win it.
 */
export class ConflictTracker {
  readonly #clock: Clock;
  readonly #graceMs: number;
  readonly #intervalMs: number;
  /** `${ip}|${mac}` -> monotonic ms of the last report. */
  readonly #reported = new Map<string, number>();

  constructor(clock: Clock, graceMs: number, intervalMs: number) {
    this.#clock = clock;
    this.#graceMs = graceMs;
    this.#intervalMs = intervalMs;
  }

  /**
   * A sighting; returns the conflict to report, or undefined. `since` is when
   * we started announcing the IP on that link (monotonic ms), or undefined
   * while probing (no grace: nobody should answer a probe).
   */
  sighting(
    ip: string,
    ifname: string,
    foreignMac: string,
    evidence: ConflictEvidence,
    since: number | undefined,
  ): Conflict | undefined {
    const now = this.#clock.now();
    if (since !== undefined && now - since < this.#graceMs) return undefined;
    const key = `${ip}|${foreignMac}`;
    const last = this.#reported.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return undefined;
    this.#reported.set(key, now);
    return { ip, ifname, foreignMac, evidence, at: this.#clock.wallNow() };
  }

  /** Forgets an IP we no longer announce (a later conflict on it is news again). */
  forget(ip: string): void {
    for (const key of this.#reported.keys()) if (key.startsWith(`${ip}|`)) this.#reported.delete(key);
  }
}
