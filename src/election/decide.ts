import { boundOf, type Placeable, type Placed, placeBounded, type PlacementResult } from './balance.ts';
import { advertisementsOf, type Eligibility, eligibility } from './eligibility.ts';
import { rankNodes } from './rank.ts';
import type { Reason } from './reasons.ts';
import type { Claim, ServiceIp, World } from './types.ts';

/**
 * Why the announcer is who it is: `kept` (the claim holder stays: sticky),
 * `fresh` (no claim yet), `takeover` (the holder may no longer announce),
 * `failback` (the holder is fine but failback moves the IP to its best node),
 * `rebalance` (the holder is fine but holds more than the load bound allows,
 * and this node has room: a planned, make-before-break move), `none` (no node
 * may announce it).
 */
export type Cause = 'kept' | 'fresh' | 'takeover' | 'failback' | 'rebalance' | 'none';

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
  /** Passed over: it announces as many addresses as the load bound allows. */
  full?: boolean;
  /** Passed over: it announces another address of the same Service (spread). */
  spread?: boolean;
  /** Addresses it announces (with the load bound on). */
  load?: number;
}

export interface Explanation {
  decision: Decision;
  claim: Claim | undefined;
  /** Every known node in rank order, with the reason each ineligible one is rejected. */
  candidates: Candidate[];
  /** When the claim holder may keep the IP although it may not take one (suspected speaker). */
  holderKeeps?: boolean;
  /** The load bound (addresses per node), when it is on. */
  cap?: number;
  /** Kept by its holder beyond the bound: no other node that may take it has room. */
  overBound?: boolean;
}

function candidatesOf(world: World): Set<string> {
  return new Set([...world.nodes.keys(), ...world.members.keys()]);
}

/** What deciding one IP needs, computed once. */
interface IpInfo {
  ip: ServiceIp;
  ranked: readonly string[];
  /** Nodes that may take it, in rank order, with the interfaces each would answer on. */
  takers: { node: string; interfaces: readonly string[] }[];
  claim: Claim | undefined;
  keep: Eligibility | undefined;
  failback: boolean;
}

function ipInfo(world: World, ip: ServiceIp, ranked: readonly string[]): IpInfo {
  const takers: IpInfo['takers'] = [];
  for (const node of ranked) {
    const e = eligibility(world, ip, node, 'take');
    if (e.ok) takers.push({ node, interfaces: e.interfaces });
  }
  const claim = world.claims.get(ip.ip);
  const keep = claim === undefined ? undefined : eligibility(world, ip, claim.node, 'keep');
  const failback = advertisementsOf(world, ip).some((a) => a.failback);
  return { ip, ranked, takers, claim, keep, failback };
}

/** The decision to announce `ip` on `next` (not its holder), or nobody. */
function move(i: IpInfo, next: string | undefined, heirs: readonly string[]): Decision {
  const base = { ip: i.ip.ip, pool: i.ip.pool };
  const taker = i.takers.find((t) => t.node === next);
  if (next === undefined || taker === undefined)
    return { ...base, announcer: undefined, interfaces: [], claim: undefined, cause: 'none', heirs: [] };
  const holder = i.claim?.node;
  const kept = i.keep?.ok === true;
  const decision: Decision = {
    ...base,
    announcer: next,
    interfaces: taker.interfaces,
    claim: { ip: i.ip.ip, node: next, epoch: (i.claim?.epoch ?? 0) + 1 },
    cause: holder === undefined ? 'fresh' : !kept ? 'takeover' : i.failback ? 'failback' : 'rebalance',
    heirs,
  };
  if (holder !== undefined) decision.previous = holder;
  return decision;
}

/** The holder stays. */
function keep(i: IpInfo, heirs: readonly string[]): Decision {
  const holder = i.claim?.node as string;
  const interfaces = i.keep?.ok === true ? i.keep.interfaces : [];
  return {
    ip: i.ip.ip,
    pool: i.ip.pool,
    announcer: holder,
    interfaces,
    claim: i.claim,
    cause: 'kept',
    heirs,
  };
}

/** Today's rule, without a load bound: sticky, else the first node that may take it. */
function decideSticky(i: IpInfo): Decision {
  const takers = i.takers.map((t) => t.node);
  const heirsAfter = (announcer: string): string[] => takers.filter((n) => n !== announcer).slice(0, 2);
  const holder = i.claim?.node;
  if (
    holder !== undefined &&
    i.keep?.ok === true &&
    (!i.failback || takers.length === 0 || takers[0] === holder)
  )
    return keep(i, heirsAfter(holder));
  const next = takers[0];
  return move(i, next, next === undefined ? [] : heirsAfter(next));
}

function decideBalanced(i: IpInfo, p: Placed | undefined): Decision {
  const node = p?.node;
  const heirs = p?.heirs ?? [];
  return node !== undefined && node === i.claim?.node && i.keep?.ok === true
    ? keep(i, heirs)
    : move(i, node, heirs);
}

function placeables(infos: readonly IpInfo[]): Placeable[] {
  return infos.map((i) => ({
    ip: i.ip.ip,
    takers: i.takers.map((t) => t.node),
    keeper: i.keep?.ok === true ? i.claim?.node : undefined,
    failback: i.failback,
    group: i.ip.group,
  }));
}

function placement(infos: readonly IpInfo[], slack: number): PlacementResult {
  return placeBounded(placeables(infos), slack);
}

/** The load bound (addresses per node) every speaker computes from `world`; undefined when it is off. */
export function loadBound(world: World): number | undefined {
  if (world.balance === undefined) return undefined;
  const nodes = candidatesOf(world);
  const infos = world.ips.map((ip) => ipInfo(world, ip, rankNodes(ip.ip, nodes)));
  return boundOf(placeables(infos), world.balance.slack);
}

/**
 * Who announces every IP, from one snapshot. A pure function of the world:
 * every speaker holding the same view reaches the same decisions, so exactly
 * one node answers for each IP; each speaker acts only on the decisions that
 * name itself.
 */
export function decide(world: World): Decision[] {
  const nodes = candidatesOf(world);
  const infos = world.ips.map((ip) => ipInfo(world, ip, rankNodes(ip.ip, nodes)));
  if (world.balance === undefined) return infos.map(decideSticky);
  const placed = placement(infos, world.balance.slack).placed;
  return infos.map((i) => decideBalanced(i, placed.get(i.ip.ip)));
}

function rankedCandidates(world: World, ip: ServiceIp, ranked: readonly string[]): Candidate[] {
  return ranked.map((node, i): Candidate => {
    const e = eligibility(world, ip, node, 'take');
    return e.ok
      ? { node, rank: i + 1, eligible: true }
      : { node, rank: i + 1, eligible: false, reason: e.reason };
  });
}

/**
 * Every known node in rank order for `ipAddress`, with the reason each may not
 * take it: explain()'s candidates without the load bound's figures (cheap:
 * no placement of every address).
 */
export function candidates(world: World, ipAddress: string): Candidate[] | undefined {
  const ip = world.ips.find((x) => x.ip === ipAddress);
  return ip === undefined ? undefined : rankedCandidates(world, ip, rankNodes(ip.ip, candidatesOf(world)));
}

/** The decision for one IP, the current claim, and every candidate with its rank and reason. */
export function explain(world: World, ipAddress: string): Explanation | undefined {
  const ip = world.ips.find((x) => x.ip === ipAddress);
  if (ip === undefined) return undefined;
  const nodes = candidatesOf(world);
  const info = ipInfo(world, ip, rankNodes(ip.ip, nodes));
  const candidates = rankedCandidates(world, ip, info.ranked);
  const claim = info.claim;
  if (world.balance === undefined) {
    const out: Explanation = { decision: decideSticky(info), claim, candidates };
    return holderKeeps(world, info, out);
  }
  const infos = world.ips.map((x) => (x === ip ? info : ipInfo(world, x, rankNodes(x.ip, nodes))));
  const result = placement(infos, world.balance.slack);
  const placed = result.placed.get(ip.ip);
  const full = new Set(placed?.full ?? []);
  const spread = new Set(placed?.spread ?? []);
  for (const c of candidates) {
    if (full.has(c.node)) c.full = true;
    if (spread.has(c.node)) c.spread = true;
    c.load = result.load.get(c.node) ?? 0;
  }
  const out: Explanation = { decision: decideBalanced(info, placed), claim, candidates, cap: result.cap };
  if (placed?.overBound === true) out.overBound = true;
  return holderKeeps(world, info, out);
}

/** Marks a holder that keeps the IP although it may not take one (a suspected speaker). */
function holderKeeps(world: World, info: IpInfo, out: Explanation): Explanation {
  const claim = info.claim;
  if (claim !== undefined && info.keep?.ok === true && !eligibility(world, info.ip, claim.node, 'take').ok)
    out.holderKeeps = true;
  return out;
}
