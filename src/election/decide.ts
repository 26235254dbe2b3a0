import { advertisementsOf, eligibility } from './eligibility.ts';
import { rankNodes } from './rank.ts';
import type { Reason } from './reasons.ts';
import type { Claim, ServiceIp, World } from './types.ts';

/**
 * Why the announcer is who it is: `kept` (the claim holder stays: sticky),
 * `fresh` (no claim yet), `takeover` (the holder may no longer announce),
 * `failback` (the holder is fine but failback moves the IP to its best node),
 * `none` (no node may announce it).
 */
export type Cause = 'kept' | 'fresh' | 'takeover' | 'failback' | 'none';

export interface Decision {
  ip: string;
  pool: string;
  announcer: string | undefined;
  /** Interfaces the announcer answers on; empty = all. */
  interfaces: readonly string[];
  /** The claim the announcer publishes (epoch + 1 on every change of announcer). */
  claim: Claim | undefined;
  cause: Cause;
  /** The holder the IP moved away from (takeover, failback). */
  previous?: string;
  /** The next two nodes that would take the IP over: they watch the announcer closely. */
  heirs: readonly string[];
}

export interface Candidate {
  node: string;
  /** 1 = best rendezvous score for this IP. */
  rank: number;
  /** May start announcing it. */
  eligible: boolean;
  reason?: Reason;
}

export interface Explanation {
  decision: Decision;
  claim: Claim | undefined;
  /** Every known node in rank order, with the reason each ineligible one is rejected. */
  candidates: Candidate[];
  /** When the claim holder may keep the IP although it may not take one (suspected speaker). */
  holderKeeps?: boolean;
}

function candidatesOf(world: World): Set<string> {
  return new Set([...world.nodes.keys(), ...world.members.keys()]);
}

function decideIp(world: World, ip: ServiceIp, ranked: readonly string[]): Decision {
  const takers = ranked.filter((n) => eligibility(world, ip, n, 'take').ok);
  const claim = world.claims.get(ip.ip);
  const holder = claim?.node;
  const keep = holder === undefined ? undefined : eligibility(world, ip, holder, 'keep');
  const failback = advertisementsOf(world, ip).some((a) => a.failback);
  const base = { ip: ip.ip, pool: ip.pool };
  const heirsAfter = (announcer: string): string[] => takers.filter((n) => n !== announcer).slice(0, 2);

  if (
    holder !== undefined &&
    keep?.ok === true &&
    (!failback || takers.length === 0 || takers[0] === holder)
  ) {
    return {
      ...base,
      announcer: holder,
      interfaces: keep.interfaces,
      claim,
      cause: 'kept',
      heirs: heirsAfter(holder),
    };
  }
  const next = takers[0];
  if (next === undefined) {
    return { ...base, announcer: undefined, interfaces: [], claim: undefined, cause: 'none', heirs: [] };
  }
  const take = eligibility(world, ip, next, 'take');
  const decision: Decision = {
    ...base,
    announcer: next,
    interfaces: take.ok ? take.interfaces : [],
    claim: { ip: ip.ip, node: next, epoch: (claim?.epoch ?? 0) + 1 },
    cause: holder === undefined ? 'fresh' : keep?.ok === true ? 'failback' : 'takeover',
    heirs: heirsAfter(next),
  };
  if (holder !== undefined) decision.previous = holder;
  return decision;
}

/**
 * Who announces every IP, from one snapshot. A pure function of the world:
 * every speaker holding the same view reaches the same decisions, so exactly
 * one node answers for each IP; each speaker acts only on the decisions that
 * name itself.
 */
export function decide(world: World): Decision[] {
  const nodes = candidatesOf(world);
  return world.ips.map((ip) => decideIp(world, ip, rankNodes(ip.ip, nodes)));
}

/** The decision for one IP, the current claim, and every candidate with its rank and reason. */
export function explain(world: World, ipAddress: string): Explanation | undefined {
  const ip = world.ips.find((x) => x.ip === ipAddress);
  if (ip === undefined) return undefined;
  const ranked = rankNodes(ip.ip, candidatesOf(world));
  const decision = decideIp(world, ip, ranked);
  const candidates = ranked.map((node, i): Candidate => {
    const e = eligibility(world, ip, node, 'take');
    return e.ok
      ? { node, rank: i + 1, eligible: true }
      : { node, rank: i + 1, eligible: false, reason: e.reason };
  });
  const claim = world.claims.get(ip.ip);
  const out: Explanation = { decision, claim, candidates };
  if (claim !== undefined) {
    const take = eligibility(world, ip, claim.node, 'take').ok;
    const keep = eligibility(world, ip, claim.node, 'keep').ok;
    if (keep && !take) out.holderKeeps = true;
  }
  return out;
}
