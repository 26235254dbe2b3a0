/**
 * Settings of the ARP/NDP responder. Every timer has a default and the reason
 * for it; `validateWireConfig` rejects nonsense with a named error.
 */
export interface WireConfig {
  /**
   * Gratuitous ARP requests / unsolicited NAs sent when this node starts
   * announcing an IP (and again when a link comes back up). The first goes at
   * once; clients whose entry points at the old MAC switch on the first one
   * that reaches them. More than one because a single frame can be lost
   * (a busy switch, a port still coming up); 4 × 100 ms covers a 300 ms gap.
   */
  burstCount: number;
  /** Between the frames of a burst. */
  burstIntervalMs: number;
  /**
   * One more gratuitous frame per announced IP this often, spread with ±10%
   * jitter. Switches forget a MAC's port after their FDB ageing time (300 s
   * by default on Linux bridges and most switches) if the node only receives,
   * and clients' caches go stale; 60 s keeps both fresh at a cost of one
   * frame per IP per minute. 0 turns refresh off.
   */
  refreshIntervalMs: number;
  /**
   * Before answering for an IP nobody announced before (a new Service), send
   * an RFC 5227 ARP probe / DAD solicitation and wait this long for another
   * host to answer: a host already using the address is reported as a
   * conflict. Takeovers never wait (failover speed comes first); they rely on
   * the passive watch below. RFC 5227 waits 1–2 s; on a LAN a host answers in
   * well under 1 ms, so 200 ms is ample and keeps a new Service's first
   * answer quick. 0 skips probing.
   */
  probeWaitMs: number;
  /**
   * After starting to announce an IP, another MAC answering for it is not yet
   * a conflict for this long: in a planned hand-off the previous announcer
   * keeps answering briefly on purpose (make-before-break). Must exceed the
   * speaker's hand-off time (300 ms).
   */
  conflictGraceMs: number;
  /**
   * A conflict (the same IP, the same foreign MAC) is reported again at most
   * this often, so a misconfigured host cannot flood logs and Events.
   */
  conflictReportIntervalMs: number;
}

export const WIRE_DEFAULTS: WireConfig = Object.freeze({
  burstCount: 4,
  burstIntervalMs: 100,
  refreshIntervalMs: 60_000,
  probeWaitMs: 200,
  conflictGraceMs: 2_000,
  conflictReportIntervalMs: 60_000,
});

/** Thrown when a WireConfig value is out of range; the message names the field. */
export class WireConfigError extends Error {
  override name = 'WireConfigError';
}

/** Fills defaults and checks ranges. */
export function validateWireConfig(partial: Partial<WireConfig> = {}): WireConfig {
  const c: WireConfig = { ...WIRE_DEFAULTS, ...partial };
  const check = (field: keyof WireConfig, ok: boolean, rule: string): void => {
    if (!ok) throw new WireConfigError(`${field} must be ${rule}, got ${String(c[field])}`);
  };
  check('burstCount', Number.isInteger(c.burstCount) && c.burstCount >= 1 && c.burstCount <= 20, '1…20');
  check('burstIntervalMs', c.burstIntervalMs >= 1 && c.burstIntervalMs <= 10_000, '1…10000 ms');
  check(
    'refreshIntervalMs',
    c.refreshIntervalMs === 0 || (c.refreshIntervalMs >= 1_000 && c.refreshIntervalMs <= 3_600_000),
    '0 (off) or 1000…3600000 ms',
  );
  check('probeWaitMs', c.probeWaitMs >= 0 && c.probeWaitMs <= 10_000, '0…10000 ms');
  check('conflictGraceMs', c.conflictGraceMs >= 0 && c.conflictGraceMs <= 600_000, '0…600000 ms');
  check(
    'conflictReportIntervalMs',
    c.conflictReportIntervalMs >= 1_000 && c.conflictReportIntervalMs <= 86_400_000,
    '1000…86400000 ms',
  );
  return c;
}
