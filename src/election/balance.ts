/**
 * Bounded-load placement (consistent hashing with bounded loads, Mirrokni,
 * Thorup and Zadimoghaddam 2016), kept sticky: no node announces more than
 * cap = max(⌈a/n⌉, ⌊(1 + slack) · a/n⌋) (a addresses, n eligible nodes;
 * loadCap) while another may take
 * the address; each address goes to the first node of its rendezvous order
 * that has room. Every speaker computes it from the same World, so they agree
 * without a round of coordination.
 *
 * Two passes, in a fixed global order of addresses (by their text):
 * 1. **Kept**: a holder that may keep an address keeps it, up to cap, its
 *    earliest addresses in the order first; any beyond cap are left to move
 *    (a `rebalance`, planned and make-before-break: the speaker's business).
 * 2. **Placed**: addresses without a holder that keeps them (new ones, a dead
 *    holder's, failback ones), then the ones left to move, each to the first
 *    node in its order with room. With no room anywhere a new or orphaned
 *    address still goes to its first node (answered over bound beats not
 *    answered); one left to move stays where it is.
 *
 * Why the holder's addresses are counted first: a node that fails moves only
 * its own addresses, never another holder's. And why this is consistent while
 * a failover is under way (one heir has taken some of a dead node's addresses,
 * the others not yet): an address an heir took is then counted in pass 1 at
 * the heir, which had room for it in pass 2 a moment before; every other
 * orphan still finds the nodes ranked above its target full, and its target
 * with room, so each heir's decision stays the same as the others take theirs.
 */

/**
 * The default slack ε: a node may hold a quarter more than its even share.
 * The bound is what keeps placement from drifting; the slack is what keeps it
 * from churning: with ε = 0 nearly every change of the node count moves
 * addresses; with 0.25 a node joining or leaving moves only what it must
 * (its own, or what exceeds the new bound) and rendezvous order still decides
 * most placements. The goal (max/mean ≤ 1.25) is this value.
 */
export const BALANCE_SLACK = 0.25;

/** One address as placement sees it. */
export interface Placeable {
  ip: string;
  /** Nodes that may take it, best rendezvous rank first. */
  takers: readonly string[];
  /** Its holder, when the holder may keep it. */
  keeper: string | undefined;
  /** Its pool moves it back to its first node with room (failback): never simply kept. */
  failback: boolean;
  /**
   * Addresses of one group (a Service's addresses of one family,
   * `meshlb.io/address-count`) go to distinct nodes while there are enough:
   * a node holds a second one only when no other node with room may take it.
   */
  group?: string | undefined;
}

export interface Placed {
  node: string | undefined;
  /** Where it would go if `node` failed, best first (at most two): the heirs watch `node`. */
  heirs: string[];
  /** Kept by its holder beyond the bound (no other node had room): for `explain`. */
  overBound?: boolean;
  /** Nodes ranked above `node` that were passed over because they were full. */
  full?: string[];
  /** Nodes ranked above `node` passed over because they hold another address of its group. */
  spread?: string[];
}

export interface PlacementResult {
  cap: number;
  placed: Map<string, Placed>;
  /** Addresses per node after placement. */
  load: Map<string, number>;
}

/**
 * The most addresses a node may announce: (1 + slack) times the even share,
 * rounded down, but never below the even share rounded up (or the addresses
 * would not fit): max(⌈a/n⌉, ⌊(1 + slack) · a/n⌋). Rounding (1 + slack) · a/n
 * up instead would let max/mean exceed 1 + slack wherever it need not: 100
 * addresses on 20 nodes would allow 7 (1.4× the mean) where 6 (1.2×) fit.
 * Unbounded without nodes.
 */
export function loadCap(addresses: number, nodes: number, slack: number): number {
  if (nodes === 0) return Number.POSITIVE_INFINITY;
  const share = addresses / nodes;
  // (The 1e-9 absorbs float error: 1.1 · 100 / 10 is 11.000000000000002, 1.15 · 20 / 1 is 22.999999999999996.)
  return Math.max(Math.ceil(share - 1e-9), Math.floor((1 + slack) * share + 1e-9));
}

const byIp = (a: Placeable, b: Placeable): number => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);

/** What every pass shares: the addresses in order, the nodes that may take any, and what only one node can serve. */
interface Inputs {
  items: readonly Placeable[];
  slack: number;
  nodes: ReadonlySet<string>;
  /** Addresses some node may announce. */
  addresses: number;
  /** Per node: addresses no other node may announce (they drop out of the count without it). */
  only: ReadonlyMap<string, number>;
}

function inputs(items: readonly Placeable[], slack: number): Inputs {
  const nodes = new Set<string>();
  const only = new Map<string, number>();
  let addresses = 0;
  for (const it of items) {
    for (const n of it.takers) nodes.add(n);
    const options = new Set(it.takers);
    if (it.keeper !== undefined) options.add(it.keeper);
    if (options.size > 0) addresses++;
    const [sole] = options;
    if (options.size === 1 && sole !== undefined) only.set(sole, (only.get(sole) ?? 0) + 1);
  }
  return { items: [...items].sort(byIp), slack, nodes, addresses, only };
}

interface Pass {
  cap: number;
  load: Map<string, number>;
  placed: Map<string, Placed>;
}

/** The first node of `takers` (skipping `skip`) with room, and the ones passed over for being full. */
function firstWithRoom(
  takers: readonly string[],
  skip: (n: string) => boolean,
  room: (n: string) => boolean,
): { node: string | undefined; full: string[] } {
  const full: string[] = [];
  for (const n of takers) {
    if (skip(n)) continue;
    if (room(n)) return { node: n, full };
    full.push(n);
  }
  return { node: undefined, full };
}

/** The bound (addresses per node) of a placement of `items`. */
export function boundOf(items: readonly Placeable[], slack: number): number {
  const x = inputs(items, slack);
  return loadCap(x.addresses, x.nodes.size, slack);
}

/** The placement with `without` excluded (a hypothetical failure of that node), or as it is. */
function place(x: Inputs, without?: string): Pass {
  const nodes = x.nodes.size - (without !== undefined && x.nodes.has(without) ? 1 : 0);
  const addresses = x.addresses - (without === undefined ? 0 : (x.only.get(without) ?? 0));
  const cap = loadCap(addresses, nodes, x.slack);
  // A group's address may go up to ⌈(1 + slack) · a/n⌉ to stay apart from its
  // group (the bound rounded up): greedily, with every node at `cap`, the last
  // Services' addresses would find room only where their group already is.
  const spreadCap = nodes === 0 ? cap : Math.ceil(((1 + x.slack) * addresses) / nodes - 1e-9);
  /** How many a node may hold and still keep one more: spreadCap for a group's addresses. */
  const limit = (it: Placeable): number => (it.group === undefined ? cap : spreadCap);
  const load = new Map<string, number>();
  const placed = new Map<string, Placed>();
  /** Group → the nodes holding one of its addresses (placed so far). */
  const groups = new Map<string, Set<string>>();
  const holds = (it: Placeable, n: string): boolean =>
    it.group !== undefined && groups.get(it.group)?.has(n) === true;
  const add = (it: Placeable, p: Placed): void => {
    placed.set(it.ip, p);
    if (p.node === undefined) return;
    load.set(p.node, (load.get(p.node) ?? 0) + 1);
    if (it.group === undefined) return;
    const g = groups.get(it.group);
    if (g === undefined) groups.set(it.group, new Set([p.node]));
    else g.add(p.node);
  };
  const toPlace: Placeable[] = [];
  const toMove: Placeable[] = [];
  for (const it of x.items) {
    const keeper = it.keeper === without ? undefined : it.keeper;
    if (keeper === undefined || it.failback) toPlace.push(it);
    // Beyond the bound, or a second address of its group on the node: left to move.
    // (A group's address may stay up to spreadCap, where it was put to stay apart.)
    else if ((load.get(keeper) ?? 0) < limit(it) && !holds(it, keeper)) add(it, { node: keeper, heirs: [] });
    else toMove.push(it);
  }
  const room = (n: string): boolean => (load.get(n) ?? 0) < cap;
  /**
   * The first node with room that holds none of its group; else one below
   * spreadCap that holds none; else the first with room.
   */
  const target = (it: Placeable): ReturnType<typeof firstWithRoom> & { spread?: string[] } => {
    const skip = (n: string): boolean => n === without;
    let apart = firstWithRoom(it.takers, skip, (n) => room(n) && !holds(it, n));
    if (apart.node === undefined && it.group !== undefined)
      apart = firstWithRoom(it.takers, skip, (n) => (load.get(n) ?? 0) < spreadCap && !holds(it, n));
    if (apart.node !== undefined || it.group === undefined) {
      const full = apart.full.filter((n) => !holds(it, n));
      const spread = apart.full.filter((n) => holds(it, n) && room(n));
      return spread.length > 0 ? { node: apart.node, full, spread } : { node: apart.node, full };
    }
    return firstWithRoom(it.takers, skip, room);
  };
  for (const it of toPlace) {
    const found = target(it);
    // No room anywhere: answered over the bound beats not answered.
    const node = found.node ?? it.takers.find((n) => n !== without);
    const p: Placed = { node, heirs: [] };
    if (found.node !== undefined && found.full.length > 0) p.full = found.full;
    if (found.spread !== undefined) p.spread = found.spread;
    add(it, p);
  }
  for (const it of toMove) {
    const keeper = it.keeper as string;
    // Its keeper is full (it filled up in the first pass, and loads only grow),
    // or holds another address of its group. A node with room holding none of
    // the group takes it; else it stays if its keeper has room (a second address
    // of the group there, but no move that spreads nothing); else any node with room.
    const found = target(it);
    const apart = found.node !== undefined && !holds(it, found.node);
    const stays = !apart && (load.get(keeper) ?? 0) < limit(it);
    const node = stays ? keeper : (found.node ?? keeper);
    const p: Placed = { node, heirs: [] };
    if (node === keeper && !stays) p.overBound = true;
    else if (!stays && found.full.length > 0) p.full = found.full;
    if (!stays && found.spread !== undefined) p.spread = found.spread;
    add(it, p);
  }
  return { cap, load, placed };
}

/**
 * Places every address, and names each one's heirs: where it would go if its
 * node failed (the same placement without that node), then the next node of
 * its order after that one.
 */
export function placeBounded(items: readonly Placeable[], slack: number): PlacementResult {
  const x = inputs(items, slack);
  const { cap, load, placed } = place(x);
  const byNode = new Map<string, Placeable[]>();
  for (const it of x.items) {
    const node = placed.get(it.ip)?.node;
    if (node === undefined) continue;
    const list = byNode.get(node);
    if (list === undefined) byNode.set(node, [it]);
    else list.push(it);
  }
  for (const [node, its] of byNode) {
    const after = place(x, node).placed;
    for (const it of its) {
      const p = placed.get(it.ip) as Placed;
      const first = after.get(it.ip)?.node;
      if (first === undefined) continue;
      const second = it.takers.find((n) => n !== node && n !== first);
      p.heirs = second === undefined ? [first] : [first, second];
    }
  }
  return { cap, load, placed };
}
