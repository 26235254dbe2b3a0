import { mergeClaim, type Claim } from '../election/index.ts';

/**
 * The claims this speaker knows, one per IP, merged with the election's
 * total order (`mergeClaim`: higher epoch, then rank, then name) whatever
 * order they arrive in. The mesh fills it (gossip from announcers, push-pull
 * from everyone: it is the mesh's ClaimStore) and the speaker's own decisions
 * add to it. `onChange` fires after a merge that changed anything.
 *
 * Claims for IPs no Service has any more stay (a few bytes each, bounded by
 * the pools' size): a claim dropped while one speaker still saw the Service
 * would only be relearnt by push-pull.
 */
export class ClaimBook {
  readonly #claims = new Map<string, Claim>();
  readonly #onChange: () => void;

  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  get map(): ReadonlyMap<string, Claim> {
    return this.#claims;
  }

  get(ip: string): Claim | undefined {
    return this.#claims.get(ip);
  }

  all(): readonly Claim[] {
    return [...this.#claims.values()];
  }

  /** Merges without notifying (the speaker's own decisions); returns the claims that changed the book. */
  add(claims: Iterable<Claim>): Claim[] {
    const changed: Claim[] = [];
    for (const c of claims) if (mergeClaim(this.#claims, c)) changed.push(c);
    return changed;
  }

  /** From the mesh: merges and notifies when anything changed. */
  merge(claims: readonly Claim[]): void {
    if (this.add(claims).length > 0) this.#onChange();
  }
}
