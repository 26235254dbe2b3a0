/**
 * Defaults of the ServiceAnnouncement writer (docs/speaker.md, "ServiceAnnouncement
 * objects"). The object is an observation for people and `meshlb explain`; traffic
 * moves with ARP/NDP, never with it, so these trade freshness for etcd's health.
 */

/**
 * At most one write per Service per this many ms (1 s). Changes inside the interval
 * coalesce into the next write: an address that changes hands three times in a second
 * costs one write, not three. A person reading `kubectl get svcann` sees the truth at
 * most a second late. Same figure as the controller's IPPool status.
 */
export const MIN_INTERVAL_MS = 1_000;

/**
 * Writes per second across all Services (20/s), a token bucket refilled at this rate.
 * The API server's own clients default to similar figures (client-go 5/s, the
 * controller-manager 20/s). A node failure spreads its addresses over the surviving
 * nodes by rendezvous hashing, so the cluster as a whole writes about 20/s per heir:
 * a takeover of 1,000 Services by one node takes about 50 s to be written, and ARP
 * moves the traffic at once regardless.
 */
export const WRITES_PER_SECOND = 20;

/** Tokens the bucket holds (40): a small takeover (a handful of Services) is written at once. */
export const BURST = 40;

/** After a failed write, the first retry of that Service waits this long; doubles per failure. */
export const RETRY_MS = 1_000;

/** The longest wait between retries of one Service (30 s). */
export const MAX_RETRY_MS = 30_000;

/** Writes in flight at once (4): enough to keep the budget busy over a slow API server. */
export const CONCURRENCY = 4;

/** Field manager prefix: each speaker applies as `meshlb-speaker-<node>`. */
export const FIELD_MANAGER_PREFIX = 'meshlb-speaker-';

/** The field manager of the speaker on `node`. */
export function speakerManager(node: string): string {
  return `${FIELD_MANAGER_PREFIX}${node}`;
}
