import { rendezvousScore } from './rank.ts';
import type { Claim } from './types.ts';

/**
 * Which of two claims for the same IP stands: the higher epoch (the later
 * takeover); at equal epochs — two sides of a healed partition that each
 * took over once — the node ranked higher for the IP; then the name. The
 * order is total, so every speaker settles on the same claim whatever order
 * claims arrive in, and the loser stops answering at once.
 */
export function claimWins(a: Claim, b: Claim): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  const sa = rendezvousScore(a.node, a.ip);
  const sb = rendezvousScore(b.node, b.ip);
  if (sa !== sb) return sa > sb;
  return a.node < b.node;
}

/** Merges a claim into the current set; returns true when it replaced (or added) the standing claim. */
export function mergeClaim(claims: Map<string, Claim>, c: Claim): boolean {
  const cur = claims.get(c.ip);
  if (cur !== undefined && (cur.node === c.node && cur.epoch === c.epoch ? true : !claimWins(c, cur)))
    return false;
  claims.set(c.ip, c);
  return true;
}
