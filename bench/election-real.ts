/**
 * Fast failover with real processes (issue: election, benchmarks 1 and 2):
 * N speakers as OS processes on loopback (mesh over libp2p + FastWatch +
 * election, lab/testbed/speakers/election-member.ts), 16 service IPs.
 *
 *   node bench/election-real.ts [--members 8] [--crash 30] [--hang 30] [--notready 30] [--sigterm 20]
 *
 * crash: `kill -9` the announcer of some IPs; hang: `SIGSTOP` it (no FIN, no
 * RST); notready: its Node turns NotReady (the update delivered to every
 * speaker at once); sigterm: planned hand-off. Measured: from the event to
 * the last of its IPs being announced by another speaker (the successor's
 * decision), in wall-clock ms read in each process; for sigterm also whether
 * the successors started before the old announcer stopped (make-before-break).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ElectionCluster, wallNow, type MemberProcess } from '../lab/testbed/speakers/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '8' },
    crash: { type: 'string', default: '30' },
    hang: { type: 'string', default: '30' },
    notready: { type: 'string', default: '30' },
    sigterm: { type: 'string', default: '20' },
    'node-flags': { type: 'string', default: '--max-semi-space-size=1' },
    runtime: { type: 'string', default: 'js' },
  },
});
const N = Number(values.members);
const cluster = new ElectionCluster({ members: N, runtime: values.runtime, nodeFlags: values['node-flags'] });
const { names, ips, members, announces, withdraws, claims, debug } = cluster;
const start = (name: string): Promise<MemberProcess> => cluster.start(name);
const until = (what: string, cond: () => boolean, timeoutMs?: number): Promise<void> =>
  cluster.until(what, cond, timeoutMs);
const converged = (): boolean => cluster.converged();
const settle = (m: MemberProcess): void => {
  cluster.settle(m);
};
await cluster.boot();
const first = cluster.first;

type Kind = 'crash' | 'hang' | 'notready' | 'sigterm';
interface Outcome {
  /** From the event to the last of the victim's IPs announced elsewhere. */
  ms: number;
  /** sigterm: how long before the old announcer stopped answering the successors had started (min over its IPs). */
  overlapMs?: number;
}

async function trial(kind: Kind, i: number): Promise<Outcome | undefined> {
  // An announcer (never the seed) holding at least one IP.
  const holders = [...new Set([...claims.values()].map((c) => c.node))].filter((n) => n !== names[0]);
  const victim = holders[i % holders.length] as string;
  const held = [...claims.values()].filter((c) => c.node === victim).map((c) => c.ip);
  const m = members.get(victim) as MemberProcess;
  const at = wallNow();
  if (kind === 'notready') {
    for (const x of members.values()) x.send({ nodeReady: { name: victim, ready: 'False' } });
  } else {
    m.proc.kill(kind === 'crash' ? 'SIGKILL' : kind === 'hang' ? 'SIGSTOP' : 'SIGTERM');
  }
  const takenAt = (ip: string): number | undefined =>
    announces.find((a) => a.ip === ip && a.by !== victim && a.t >= at)?.t;
  let outcome: Outcome | undefined;
  try {
    await until('the successors to take over', () => held.every((ip) => takenAt(ip) !== undefined));
    const ms = Math.max(...held.map((ip) => takenAt(ip) ?? 0)) - at;
    outcome = { ms };
    if (kind === 'sigterm') {
      await until('the old announcer to stop', () =>
        held.every((ip) => withdrawn(victim, ip, at) !== undefined),
      );
      outcome.overlapMs = Math.min(
        ...held.map((ip) => (withdrawn(victim, ip, at) ?? 0) - (takenAt(ip) ?? 0)),
      );
    }
    if (process.env.MESH_DEBUG !== undefined && ms > Number(process.env.MESH_DEBUG)) {
      console.error(`trial ${kind} ${victim} held ${held.join(',')}: ${ms.toFixed(1)} ms`);
      for (const d of debug.filter((x) => (x.t as number) >= at))
        console.error(JSON.stringify({ ...d, t: ((d.t as number) - at).toFixed(1) }));
    }
  } catch {
    outcome = undefined;
  }
  debug.length = 0;
  if (kind === 'notready') {
    // The Node is Ready again; sticky: it takes nothing back.
    for (const x of members.values()) x.send({ nodeReady: { name: victim, ready: 'True' } });
  } else {
    // Reset the victim: a fresh process rejoins and learns the current claims.
    if (kind === 'hang') m.proc.kill('SIGCONT');
    m.proc.kill('SIGKILL');
    const fresh = await start(victim);
    fresh.send({ join: [first.endpoint] });
    await until('the mesh to converge again', converged, 15_000);
    for (const x of members.values()) settle(x);
  }
  // Let a fresh process finish starting (module loading, JIT): trials start from a steady state.
  await delay(1_000 + Math.random() * 500);
  return outcome;
}

function withdrawn(by: string, ip: string, since: number): number | undefined {
  return withdraws.find((w) => w.by === by && w.ip === ip && w.t >= since)?.t;
}

const results: Record<Kind, Outcome[]> = { crash: [], hang: [], notready: [], sigterm: [] };
let timeouts = 0;
for (const kind of ['crash', 'hang', 'notready', 'sigterm'] as const) {
  for (let i = 0; i < Number(values[kind]); i++) {
    const r = await trial(kind, i);
    if (r === undefined) timeouts++;
    else results[kind].push(r);
  }
}
cluster.stop();
const ms = (k: Kind) => summarize(results[k].map((r) => r.ms));
const overlaps = results.sigterm.map((r) => r.overlapMs ?? Number.NaN);
console.log(
  JSON.stringify(
    {
      benchmark: 'election-real',
      members: N,
      ips: ips.length,
      crash_to_heir_decision_ms: ms('crash'),
      hang_to_heir_decision_ms: ms('hang'),
      node_notready_to_decision_ms: ms('notready'),
      sigterm: {
        trials: overlaps.length,
        make_before_break: overlaps.filter((o) => o > 0).length,
        successor_started_before_old_stopped_by_ms: summarize(overlaps),
      },
      timeouts,
    },
    null,
    2,
  ),
);
