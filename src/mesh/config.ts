/**
 * Every timer and count of the membership protocol, with the formula and the
 * trade-off of each (in the manner of hashicorp/memberlist's config.go).
 *
 * Detection time of a silent member, roughly:
 *   first failed probe  ≈ up to ~4.6 × probeInterval (p99: each of the N-1
 *                         probers visits a member once per round, at a random
 *                         phase, so P(nobody probed it in k periods) ≈ e^-k)
 *   + probeTimeout + indirectTimeout           (direct, then k helpers)
 *   + suspicion timeout (shrinks to suspicionMin with confirmations)
 *   + dissemination (gossipsub: a few hops of LAN latency)
 * A member that stalls (GC, SIGSTOP) for S ms is not declared dead while
 *   probeTimeout + indirectTimeout + suspicionMin > S + refutation latency.
 */
export interface MeshConfig {
  /**
   * Time between probe rounds (each round probes one member). Lower detects
   * faster; the cost is 2 messages per interval per member (ping + ack), flat
   * in N. 100 ms → ~20 messages/s per member.
   */
  probeIntervalMs: number;
  /**
   * How long to wait for a direct ack before asking helpers. Must exceed the
   * worst healthy round trip including a busy event loop; too low sends
   * needless ping-reqs, too high slows detection one-for-one.
   */
  probeTimeoutMs: number;
  /**
   * How long after the ping-reqs to wait for an indirect ack before
   * suspecting. Helpers use probeTimeoutMs for their own ping, then nack, so
   * this must exceed probeTimeoutMs plus two one-way trips.
   */
  indirectTimeoutMs: number;
  /** Helpers asked per failed direct probe (SWIM's k). More = fewer false suspicions from lossy paths, more traffic on failure. */
  indirectChecks: number;
  /**
   * Suspicion timeout once enough independent confirmations arrived, for up to
   * 10 members. Must exceed the longest stall we tolerate minus the time to
   * notice it (probeTimeout + indirectTimeout), plus refutation latency.
   */
  suspicionMinMs: number;
  /** Added to suspicionMinMs per decade of members beyond 10 (dissemination takes one more hop per decade). */
  suspicionMinPerDecadeMs: number;
  /** Suspicion timeout without confirmations = suspicionMaxMult × the minimum (Lifeguard's dynamic suspicion). */
  suspicionMaxMult: number;
  /** Independent confirmations that shrink the timeout to its minimum (memberlist uses suspicionMult - 2). */
  suspicionConfirmations: number;
  /**
   * On hearing a new suspicion, this many members (in expectation) probe the
   * suspect at once instead of waiting for their round-robin turn, so a dead
   * member collects confirmations in one round trip. 0 disables.
   */
  confirmProbes: number;
  /**
   * When a suspicion expires here but we were not among its accusers, wait
   * this long before declaring the member dead ourselves: the accusers'
   * verdict arrives by gossip within it, so N members do not each flood a
   * verdict. Must exceed gossip latency; adds to detection only if every
   * accuser's verdict is lost.
   */
  verdictGraceMs: number;
  /** Lifeguard local health: the highest awareness score; timers stretch by (score + 1). */
  awarenessMax: number;
  /**
   * A timer that fires this much later than asked means our own event loop
   * stalled: the verdict it was about to give is postponed and our awareness
   * rises, instead of accusing a member whose ack may sit unread in our queue.
   */
  lagToleranceMs: number;
  /** Updates are piggybacked this many × ceil(log10(N + 1)) times (memberlist's retransmitMult). */
  retransmitMult: number;
  /** At most this many updates ride on one ping or ack. */
  maxPiggyback: number;
  /**
   * Full-state push-pull with a random member every interval × scale(N), where
   * scale = 1 up to 32 members, then ceil(log2(N) - log2(32)) + 1 (memberlist's
   * pushPullScale). It repairs anything gossip missed.
   */
  pushPullIntervalMs: number;
  /**
   * Every interval, ping members believed dead (as datagrams: a dial into a
   * partition hangs): all of them in a small mesh, ceil(32 ÷ N) at random in
   * a large one, so about 32 such pings cross the mesh per interval. An
   * answer starts a push-pull. This is how a healed partition is noticed: the
   * first ping across comes within about interval ÷ 32. At N = 8, one random
   * dead member a second left the first contact 380 ms after a heal in the
   * slowest of 20 trials, and the heal took 1.2 s.
   */
  healPingIntervalMs: number;
  /**
   * The aftermath of a reconnect: a member back from the dead for less than
   * this has its accusations dropped (verdicts from the other side of a
   * split), gets no second push-pull, and a stranger is asked for one at most
   * once per interval. The speaker's resync after isolation lasts 3 of these.
   * A join no push-pull answered is asked again this often.
   */
  reconnectIntervalMs: number;
  /** Dead and left members are forgotten after this long (they can still rejoin later with a higher incarnation). */
  reapAfterMs: number;
}

/**
 * Fast LAN (default): sub-second detection at small N, sub-2-second at 1,000,
 * tolerating 300 ms stalls (see docs/benchmarks.md for the measured figures).
 */
export const LAN_FAST: MeshConfig = Object.freeze({
  probeIntervalMs: 80,
  probeTimeoutMs: 80,
  indirectTimeoutMs: 120,
  indirectChecks: 3,
  suspicionMinMs: 250,
  suspicionMinPerDecadeMs: 50,
  suspicionMaxMult: 4,
  suspicionConfirmations: 3,
  confirmProbes: 3,
  verdictGraceMs: 50,
  awarenessMax: 8,
  lagToleranceMs: 40,
  retransmitMult: 3,
  maxPiggyback: 8,
  pushPullIntervalMs: 30_000,
  healPingIntervalMs: 250,
  reconnectIntervalMs: 1_000,
  reapAfterMs: 5 * 60_000,
});

/** Conservative LAN: for busy nodes with long GC pauses; detection ~3-4 s. */
export const LAN_CONSERVATIVE: MeshConfig = Object.freeze({
  ...LAN_FAST,
  probeIntervalMs: 250,
  probeTimeoutMs: 200,
  indirectTimeoutMs: 400,
  suspicionMinMs: 1_500,
  suspicionMinPerDecadeMs: 250,
  lagToleranceMs: 100,
});

/** WAN: memberlist's WAN-like timings for links with 100 ms+ latency. */
export const WAN: MeshConfig = Object.freeze({
  ...LAN_FAST,
  probeIntervalMs: 1_000,
  probeTimeoutMs: 1_500,
  indirectTimeoutMs: 3_000,
  suspicionMinMs: 6_000,
  suspicionMinPerDecadeMs: 1_000,
  lagToleranceMs: 250,
  verdictGraceMs: 500,
  pushPullIntervalMs: 60_000,
  healPingIntervalMs: 5_000,
  reconnectIntervalMs: 5_000,
});

export const PROFILES = Object.freeze({
  'lan-fast': LAN_FAST,
  'lan-conservative': LAN_CONSERVATIVE,
  wan: WAN,
});
export type ProfileName = keyof typeof PROFILES;

/** Thrown when a MeshConfig has a value outside its valid range. */
export class MeshConfigError extends Error {
  override name = 'MeshConfigError';
}

/** Checks the invariants between settings; throws MeshConfigError naming the first broken one. */
export function validateMeshConfig(c: MeshConfig): MeshConfig {
  const positive: (keyof MeshConfig)[] = [
    'probeIntervalMs',
    'probeTimeoutMs',
    'indirectTimeoutMs',
    'suspicionMinMs',
    'suspicionMaxMult',
    'verdictGraceMs',
    'lagToleranceMs',
    'retransmitMult',
    'maxPiggyback',
    'pushPullIntervalMs',
    'healPingIntervalMs',
    'reconnectIntervalMs',
    'reapAfterMs',
  ];
  for (const key of positive) {
    if (!(c[key] > 0) || !Number.isFinite(c[key]))
      throw new MeshConfigError(`${key} must be a positive number, got ${c[key]}`);
  }
  const nonNegative: (keyof MeshConfig)[] = [
    'indirectChecks',
    'suspicionMinPerDecadeMs',
    'suspicionConfirmations',
    'confirmProbes',
    'awarenessMax',
  ];
  for (const key of nonNegative) {
    if (!(c[key] >= 0) || !Number.isFinite(c[key]))
      throw new MeshConfigError(`${key} must be ≥ 0, got ${c[key]}`);
  }
  if (c.indirectTimeoutMs <= c.probeTimeoutMs) {
    throw new MeshConfigError(
      'indirectTimeoutMs must exceed probeTimeoutMs (helpers wait probeTimeoutMs before they nack)',
    );
  }
  if (c.suspicionMaxMult < 1) throw new MeshConfigError('suspicionMaxMult must be ≥ 1');
  return c;
}

/** Suspicion timeout bounds for a cluster of n members. */
export function suspicionBounds(c: MeshConfig, n: number): { min: number; max: number } {
  const decades = Math.max(0, Math.log10(Math.max(n, 1)) - 1);
  const min = c.suspicionMinMs + c.suspicionMinPerDecadeMs * decades;
  return { min, max: min * c.suspicionMaxMult };
}

/** How many times an update is piggybacked before it is dropped from the queue. */
export function retransmitLimit(c: MeshConfig, n: number): number {
  return c.retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** Push-pull interval for n members (memberlist's pushPullScale). */
export function pushPullInterval(c: MeshConfig, n: number): number {
  const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
  return c.pushPullIntervalMs * scale;
}
