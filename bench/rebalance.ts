/**
 * Lost pings while the load bound moves addresses (issue 22, item 2). Needs root.
 *
 * A lab of speakers as processes (3 nodes, 3 dual-stack Services: 6 addresses,
 * at most 2 per node). Each round one speaker gets SIGTERM (its planned
 * hand-off: the others hold 3 each, the bound with 2 nodes), then starts again;
 * the two nodes over the bound now hand one address each back to it, planned
 * and make-before-break. The client pings every address every 10 ms throughout
 * (IPv4 and IPv6). Reported per round: the rebalancing moves the speakers made
 * (`meshlb_failovers_total{cause="rebalance"}`), and the echoes lost on the
 * addresses that moved (goal 0), apart for the hand-off and for the rebalance.
 *
 *   sudo node bench/rebalance.ts [--rounds 6]
 */
import { parseArgs } from 'node:util';
import { allReady, until } from '../lab/chaos/measure.ts';
import { ClusterLab } from '../lab/testbed/lab/index.ts';
import { lostEchoes, pingEchoes } from '../lab/testbed/netns/index.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' } } });
const ROUNDS = Number(values.rounds);

interface Summary {
  announcing: string[];
}

interface Round {
  victim: string;
  handed_off: number;
  lost_in_hand_off: number;
  rebalance_moves: number;
  moved_back: number;
  lost_in_rebalance: number;
}

/** Which node announces each address, from every speaker's own /debug/summary. */
async function holders(lab: ClusterLab): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const n of lab.nodes) {
    const r = await lab.http.get(lab.speakerUrl(n.name, '/debug/summary'));
    if (r.status !== 200) continue;
    for (const ip of (JSON.parse(r.body) as Summary).announcing)
      out.set(ip, [...(out.get(ip) ?? []), n.name]);
  }
  return out;
}

/** Every address announced by exactly one node, and none by more than `max` per node. */
async function settled(lab: ClusterLab, ips: readonly string[], max: number): Promise<boolean> {
  const h = await holders(lab);
  if (!ips.every((ip) => h.get(ip)?.length === 1)) return false;
  const perNode = new Map<string, number>();
  for (const [, [n]] of h) if (n !== undefined) perNode.set(n, (perNode.get(n) ?? 0) + 1);
  return [...perNode.values()].every((c) => c <= max);
}

async function rebalances(lab: ClusterLab): Promise<number> {
  let sum = 0;
  for (const n of lab.nodes) {
    const r = await lab.http.get(lab.speakerUrl(n.name, '/metrics'));
    const m = /^meshlb_failovers_total\{cause="rebalance"\} (\d+)/m.exec(r.body);
    sum += Number(m?.[1] ?? 0);
  }
  return sum;
}

const lab = await ClusterLab.start({ nodes: 3, services: 3, prefix: 'mlbreb' });
try {
  const ips = lab.services.flatMap((s) => s.ips);
  if (
    (await until(
      async () => ((await allReady(lab)) && (await settled(lab, ips, 2)) ? true : undefined),
      60_000,
    )) === undefined
  )
    throw new Error(`the lab did not settle (logs: ${lab.dir})`);
  const pings = new Map(ips.map((ip) => [ip, pingEchoes(lab.lan, lab.client, ip, 0.01)]));
  const at = (list: readonly unknown[]): number => list.length;
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const victim = lab.nodes[r % lab.nodes.length]?.name as string;
    const before = await holders(lab);
    const start = new Map([...pings].map(([ip, p]) => [ip, at(p.list)]));
    await lab.signalSpeaker(victim, 'SIGTERM');
    await until(async () => ((await settled(lab, ips, 3)) ? true : undefined), 30_000);
    const mid = new Map([...pings].map(([ip, p]) => [ip, at(p.list)]));
    const handedOff = ips.filter((ip) => before.get(ip)?.[0] === victim);
    // (The victim is down: its restarted process counts from 0.)
    const base = await rebalances(lab);
    lab.startSpeaker(victim);
    await until(async () => ((await allReady(lab)) ? true : undefined), 30_000);
    const back = await until(async () => {
      const h = await holders(lab);
      return (await settled(lab, ips, 2)) && ips.some((ip) => h.get(ip)?.[0] === victim) ? h : undefined;
    }, 30_000);
    // Let the last pings of the window come back before counting.
    await until(
      () => ([...pings].every(([ip, p]) => at(p.list) > (mid.get(ip) ?? 0) + 20) ? true : undefined),
      5_000,
    );
    const moved = ips.filter((ip) => back?.get(ip)?.[0] === victim);
    const lost = (list: readonly string[], from: Map<string, number>): number =>
      list.reduce((s, ip) => s + lostEchoes(pings.get(ip)?.list ?? [], from.get(ip) ?? 0).lost, 0);
    rounds.push({
      victim,
      handed_off: handedOff.length,
      lost_in_hand_off: lost(handedOff, start) - lost(handedOff, mid),
      rebalance_moves: (await rebalances(lab)) - base,
      moved_back: moved.length,
      lost_in_rebalance: lost(moved, mid),
    });
    process.stderr.write(`round ${r + 1}: ${JSON.stringify(rounds.at(-1))}\n`);
  }
  for (const p of pings.values()) p.stop();
  const total = (k: 'rebalance_moves' | 'lost_in_rebalance' | 'lost_in_hand_off'): number =>
    rounds.reduce((s, x) => s + x[k], 0);
  console.log(
    JSON.stringify(
      {
        benchmark: 'rebalance',
        nodes: 3,
        addresses: ips.length,
        rounds,
        rebalance_moves: total('rebalance_moves'),
        lost_pings_in_rebalance: total('lost_in_rebalance'),
        lost_pings_in_hand_off: total('lost_in_hand_off'),
      },
      null,
      2,
    ),
  );
} finally {
  await lab.stop();
}
