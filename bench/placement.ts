/**
 * Announcer load (issue: election, bounded load). Prints JSON.
 *
 *   node bench/placement.ts [--addresses 100,1000] [--nodes 5,20,100] [--seeds 20] [--big-seeds 5]
 *   node bench/placement.ts --quick          (A=100, N=5,20, 5 seeds: seconds)
 *
 * How evenly the election spreads service addresses over the nodes that may
 * announce them: max/mean of addresses per node over the alive speakers
 * (1 = even; a node holding everything gives N). Today's rules (sticky
 * rendezvous: a World without `balance`) against bounded load
 * (`balance: { slack: BALANCE_SLACK }`). decide() is pure, so this runs the
 * election alone; the speakers' part is `settle`: every announcer claims what
 * decide() gives it, until nothing changes (as test/unit/election-balance).
 *
 * Per seed (mulberry32): A distinct random addresses in 10.0.0.0/8, N Ready
 * nodes, a join order, a victim and a restart order; both rule sets run the
 * same seeds. Scenarios:
 * - cold-start: speakers become ready one at a time (absent from `members`,
 *   then 'alive'; settle); figures after the last one settled.
 * - failure: from the cold start, one node goes 'dead'; settle. moves = the
 *   addresses whose announcer changed, victim_load = what it held before
 *   (a failure should move exactly that: extra_moves = moves − victim_load).
 * - rolling-restart: from the cold start, each node in turn goes 'left'
 *   (hand-off), settle, then 'alive' again, settle.
 * Elsewhere moves counts every change of holder over all settle rounds (a
 * first claim is not a move), by cause. Medians are the lower middle value;
 * worst is the max over seeds. --big-seeds applies where A·N ≥ 100,000 (slow:
 * bounded placement re-places per holder to name heirs).
 */
import { parseArgs } from 'node:util';
import {
  BALANCE_SLACK,
  type Cause,
  type Claim,
  decide,
  loadCap,
  type ServiceIp,
  type World,
} from '../src/election/index.ts';
import type { MemberState } from '../src/mesh/messages.ts';
import { mulberry32 } from '../src/mesh/sim/prng.ts';
import { quantile } from './stats.ts';
import { EVERY_NODE, readyNode } from '../lab/testbed/election-world.ts';

const { values } = parseArgs({
  options: {
    addresses: { type: 'string', default: '100,1000' },
    nodes: { type: 'string', default: '5,20,100' },
    seeds: { type: 'string', default: '20' },
    'big-seeds': { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const addressCounts = (quick ? '100' : values.addresses).split(',').map(Number);
const nodeCounts = (quick ? '5,20' : values.nodes).split(',').map(Number);
const seeds = quick ? 5 : Number(values.seeds);
const bigSeeds = Math.min(seeds, Number(values['big-seeds']));
const BIG = 100_000;

type Rules = 'today' | 'bounded';
type Scenario = 'cold-start' | 'failure' | 'rolling-restart';
const RULES: readonly Rules[] = ['today', 'bounded'];
const SCENARIOS: readonly Scenario[] = ['cold-start', 'failure', 'rolling-restart'];

/** What one seed draws: the addresses, the nodes and the orders of events. */
interface Plan {
  ips: ServiceIp[];
  names: string[];
  joins: string[];
  victim: string;
  restarts: string[];
}

function shuffle<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function plan(addresses: number, nodes: number, seed: number): Plan {
  const random = mulberry32(seed);
  const ips = new Set<string>();
  while (ips.size < addresses) {
    const v = Math.floor(random() * 2 ** 24);
    ips.add(`10.${v >>> 16}.${(v >>> 8) & 255}.${v & 255}`);
  }
  const names = Array.from({ length: nodes }, (_, i) => `node-${i}`);
  return {
    ips: [...ips].map((ip) => ({ ip, pool: 'default' })),
    names,
    joins: shuffle(names, random),
    victim: names[Math.floor(random() * nodes)] as string,
    restarts: shuffle(names, random),
  };
}

/** Changes of holder, by the cause decide() gave. */
type Tally = Map<Cause, number>;

const sum = (t: Tally): number => [...t.values()].reduce((a, b) => a + b, 0);

/** Every announcer claims what decide() gives it, until nothing changes; counts the changes of holder. */
function settle(w: World, tally: Tally): World {
  let cur = w;
  for (let round = 0; round < 20; round++) {
    const claims = new Map<string, Claim>();
    let changed = false;
    for (const d of decide(cur)) {
      const before = cur.claims.get(d.ip);
      if (d.claim === undefined) {
        changed ||= before !== undefined;
        continue;
      }
      claims.set(d.ip, d.claim);
      if (before?.node === d.claim.node && before.epoch === d.claim.epoch) continue;
      changed = true;
      if (before !== undefined && before.node !== d.claim.node)
        tally.set(d.cause, (tally.get(d.cause) ?? 0) + 1);
    }
    if (!changed) return cur;
    cur = { ...cur, claims };
  }
  throw new Error('did not settle in 20 rounds');
}

function withMember(w: World, node: string, state: MemberState): World {
  return { ...w, members: new Map([...w.members, [node, state]]) };
}

/** Addresses per alive speaker (those without any count as 0). */
function loads(w: World): Map<string, number> {
  const load = new Map<string, number>();
  for (const [n, s] of w.members) if (s === 'alive') load.set(n, 0);
  for (const c of w.claims.values()) {
    const l = load.get(c.node);
    if (l !== undefined) load.set(c.node, l + 1);
  }
  return load;
}

/** max/mean of addresses per alive speaker. */
function ratio(w: World): number {
  const l = [...loads(w).values()];
  const mean = l.reduce((a, b) => a + b, 0) / l.length;
  return Math.max(...l) / mean;
}

const holders = (w: World): Map<string, string> => new Map([...w.claims].map(([ip, c]) => [ip, c.node]));

interface Sample {
  ratio: number;
  moves: number;
  rebalances: number;
  takeovers: number;
  victimLoad?: number;
  ms: number;
}

function sample(w: World, tally: Tally, started: number): Sample {
  return {
    ratio: ratio(w),
    moves: sum(tally),
    rebalances: tally.get('rebalance') ?? 0,
    takeovers: tally.get('takeover') ?? 0,
    ms: performance.now() - started,
  };
}

/** The three scenarios of one seed under one rule set. */
function run(p: Plan, rules: Rules): Record<Scenario, Sample> {
  let started = performance.now();
  let w: World = {
    nodes: new Map(p.names.map((n) => [n, readyNode(n)])),
    members: new Map(),
    advertisements: [EVERY_NODE],
    ips: p.ips,
    claims: new Map(),
  };
  if (rules === 'bounded') w.balance = { slack: BALANCE_SLACK };
  const coldTally: Tally = new Map();
  for (const n of p.joins) w = settle(withMember(w, n, 'alive'), coldTally);
  const cold = sample(w, coldTally, started);

  started = performance.now();
  const before = holders(w);
  const victimLoad = [...before.values()].filter((n) => n === p.victim).length;
  const failTally: Tally = new Map();
  const failed = settle(withMember(w, p.victim, 'dead'), failTally);
  const after = holders(failed);
  const failure = sample(failed, failTally, started);
  failure.moves = [...before].filter(([ip, n]) => after.get(ip) !== n).length;
  failure.victimLoad = victimLoad;

  started = performance.now();
  const restartTally: Tally = new Map();
  for (const n of p.restarts) {
    w = settle(withMember(w, n, 'left'), restartTally);
    w = settle(withMember(w, n, 'alive'), restartTally);
  }
  const restart = sample(w, restartTally, started);
  return { 'cold-start': cold, failure, 'rolling-restart': restart };
}

const round = (v: number, digits = 2): number => Number(v.toFixed(digits));

function median(xs: readonly number[]): number {
  return quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

function figures(addresses: number, nodes: number, rules: Rules, scenario: Scenario, xs: Sample[]): object {
  const alive = scenario === 'failure' ? nodes - 1 : nodes;
  const ratios = xs.map((x) => x.ratio);
  const out: Record<string, unknown> = {
    addresses,
    nodes,
    rules,
    scenario,
    seeds: xs.length,
    max_over_mean: { median: round(median(ratios)), worst: round(Math.max(...ratios)) },
  };
  if (rules === 'bounded')
    out['max_over_mean_bound'] = round(loadCap(addresses, alive, BALANCE_SLACK) / (addresses / alive));
  out['moves'] = { median: median(xs.map((x) => x.moves)), worst: Math.max(...xs.map((x) => x.moves)) };
  if (scenario === 'failure') {
    out['victim_load'] = { median: median(xs.map((x) => x.victimLoad ?? 0)) };
    out['extra_moves_worst'] = Math.max(...xs.map((x) => x.moves - (x.victimLoad ?? 0)));
  } else {
    out['takeover_moves'] = { median: median(xs.map((x) => x.takeovers)) };
    out['rebalance_moves'] = { median: median(xs.map((x) => x.rebalances)) };
  }
  const ms = xs.map((x) => x.ms);
  out['wall_seconds'] = round(ms.reduce((a, b) => a + b, 0) / 1000, 3);
  out['wall_ms_per_seed'] = { median: Math.round(median(ms)) };
  return out;
}

const started = performance.now();
const results: object[] = [];
for (const a of addressCounts) {
  for (const n of nodeCounts) {
    const count = a * n >= BIG ? bigSeeds : seeds;
    const samples = new Map<string, Sample[]>();
    for (let s = 1; s <= count; s++) {
      const p = plan(a, n, s);
      for (const rules of RULES) {
        const r = run(p, rules);
        for (const sc of SCENARIOS) {
          const key = `${rules}/${sc}`;
          samples.set(key, [...(samples.get(key) ?? []), r[sc]]);
        }
      }
    }
    for (const rules of RULES)
      for (const sc of SCENARIOS) results.push(figures(a, n, rules, sc, samples.get(`${rules}/${sc}`) ?? []));
    console.error(`A=${a} N=${n}: ${count} seeds, ${round((performance.now() - started) / 1000, 1)} s`);
  }
}
console.log(
  JSON.stringify(
    {
      benchmark: 'placement',
      slack: BALANCE_SLACK,
      seeds: { default: seeds, where_addresses_times_nodes_ge_100000: bigSeeds },
      wall_seconds: round((performance.now() - started) / 1000, 1),
      results,
    },
    null,
    2,
  ),
);
