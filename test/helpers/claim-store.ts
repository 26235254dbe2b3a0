// A claim store as the speaker keeps one: the election's mergeClaim over a map,
// plus a log of every delivery, for tests of the mesh's claim dissemination.
import { mergeClaim } from '../../src/election/claims.ts';
import type { Claim } from '../../src/election/types.ts';
import type { ClaimStore, MeshClaim } from '../../src/mesh/index.ts';

export interface Delivery {
  claims: readonly MeshClaim[];
  from: string;
  via: 'gossip' | 'push-pull';
}

export class MapClaimStore implements ClaimStore {
  readonly claims = new Map<string, Claim>();
  readonly deliveries: Delivery[] = [];

  all(): readonly MeshClaim[] {
    return [...this.claims.values()];
  }

  merge(claims: readonly MeshClaim[], from: string, via: 'gossip' | 'push-pull'): void {
    this.deliveries.push({ claims, from, via });
    for (const c of claims) mergeClaim(this.claims, c);
  }

  /** Our own claim, as the speaker records what its decisions publish. */
  own(c: MeshClaim): void {
    mergeClaim(this.claims, c);
  }

  /** Whether `c` was ever delivered (by `via`, if given), standing or not. */
  saw(c: MeshClaim, via?: 'gossip' | 'push-pull'): boolean {
    return this.deliveries.some(
      (d) =>
        (via === undefined || d.via === via) &&
        d.claims.some((x) => x.ip === c.ip && x.node === c.node && x.epoch === c.epoch),
    );
  }
}
