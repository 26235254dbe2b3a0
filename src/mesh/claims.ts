/**
 * Announcement claims on the mesh: what the core needs from the claim store,
 * and how a member's own claims become `claims` messages. The mesh carries
 * claims and never interprets them: the store (the speaker's, with the
 * election's mergeClaim) decides which claim stands.
 */
import { encodedSize, MAX_GOSSIP_CLAIMS } from './codec.ts';
import type { Claims, MeshClaim } from './messages.ts';

/**
 * Where the core reads and delivers claims (the speaker's view of them).
 * Called synchronously from `Membership.handle`, so `merge` must not throw;
 * gossip claims reach it only when they name their sender, push-pull claims
 * may name any node (relayed), and either may be old news (merge decides).
 */
export interface ClaimStore {
  /** Every claim this member knows (put in push-pull). */
  all(): readonly MeshClaim[];
  /** Claims received from `from` by gossip or push-pull; the store merges them (the election's mergeClaim) and reacts. */
  merge(claims: readonly MeshClaim[], from: string, via: 'gossip' | 'push-pull'): void;
}

/**
 * This member now knows the standing claims: a push-pull reply came in
 * (`via: 'push-pull'`, `from` the member that answered), or it joined with no
 * seeds, as the first speaker of a cluster (`via: 'local'`).
 */
export interface SyncedEvent {
  via: 'push-pull' | 'local';
  from?: string;
  /** Monotonic clock time (for durations) and wall-clock ms (for people). */
  at: number;
  wallAt: number;
}

export type SyncedListener = (event: SyncedEvent) => void;

/**
 * Thrown when `Membership.publishClaims` is given a claim that names another
 * node: by gossip, a node announces only its own claims (receivers would drop
 * it as `claim-not-own`). A bug in the caller, so it is loud.
 */
export class ForeignClaimError extends Error {
  override name = 'ForeignClaimError';
  readonly claim: MeshClaim;

  constructor(self: string, claim: MeshClaim) {
    super(`${self} cannot publish a claim of ${claim.node} (for ${claim.ip} at epoch ${claim.epoch})`);
    this.claim = claim;
  }
}

/**
 * `from`'s own claims as claims messages of at most MAX_GOSSIP_CLAIMS each.
 * Throws ForeignClaimError for a claim of another node, MeshCodecError for a
 * claim the codec cannot carry (empty or over-long IP or name, bad epoch);
 * either way before anything is sent.
 */
export function claimsMessages(from: string, claims: readonly MeshClaim[]): Claims[] {
  for (const c of claims) if (c.node !== from) throw new ForeignClaimError(from, c);
  const out: Claims[] = [];
  for (let i = 0; i < claims.length; i += MAX_GOSSIP_CLAIMS) {
    const msg: Claims = { type: 'claims', from, claims: claims.slice(i, i + MAX_GOSSIP_CLAIMS) };
    encodedSize(msg);
    out.push(msg);
  }
  return out;
}
