import { mergeClaim, type Claim } from '../election/index.ts';

/**
 * The claims this speaker knows, one per IP, merged with the election's
 * total order (`mergeClaim`: higher epoch, then rank, then name) whatever
 * order they arrive in. The mesh fills it (gossip from announcers, push-pull
 * from everyone: it is the mesh's ClaimStore) and the speaker's own decisions
 * add to it (only its own: a decision naming another node is that node's
 * to claim, and a prediction relayed by push-pull would act as its claim).
 * `onChange` fires after a merge that changed anything.
 *
 * Claims for IPs no Service has any more stay (a few bytes each, bounded by
 * the pools' size): a claim dropped while one speaker still saw the Service
 * would only be relearnt by push-pull.
 */
export class ClaimBook {
  readonly #claims = new Map<string, Claim>();
  readonly #onChange: () => void;
  readonly #onRival: (rivals: Claim[]) => void;

  /**
   * `onRival`: claims from the mesh that lost to the standing claim of
   * another node (two speakers decided differently for a moment): the
   * standing holder re-announces, since the loser may have moved clients.
   */
  constructor(onChange: () => void = () => undefined, onRival: (rivals: Claim[]) => void = () => undefined) {
    this.#onChange = onChange;
    this.#onRival = onRival;
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

  /** From the mesh: merges and notifies when anything changed, and of rivals that lost. */
  merge(claims: readonly Claim[]): void {
    const rivals: Claim[] = [];
    let changed = false;
    for (const c of claims) {
      if (mergeClaim(this.#claims, c)) changed = true;
      else if (this.#claims.get(c.ip)?.node !== c.node) rivals.push(c);
    }
    if (changed) this.#onChange();
    if (rivals.length > 0) this.#onRival(rivals);
  }
}
