/**
 * Fast failover with real processes (issue: election, benchmarks 1 and 2):
 * N speakers as OS processes on loopback (mesh over libp2p + FastWatch +
 * election, bench/election-real-member.ts), 16 service IPs.
 *
 *   node bench/election-real.ts [--members 8] [--crash 30] [--hang 30]
 *
 * crash: `kill -9` the announcer of some IPs; hang: `SIGSTOP` it (no FIN, no
 * RST). Measured: from the signal to the last of its IPs being announced by
 * another speaker (the heir's decision), in wall-clock ms read in each process.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { decide, type Claim, type NodeView, type World } from '../src/election/index.ts';
import { memberScript, startMember, wallNow, type MemberProcess } from './member-process.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '8' },
    crash: { type: 'string', default: '30' },
    hang: { type: 'string', default: '30' },
    'node-flags': { type: 'string', default: '--max-semi-space-size=1' },
    runtime: { type: 'string', default: 'js' },
  },
});
const N = Number(values.members);
const key = randomBytes(32).toString('hex');
const script = memberScript('election-real-member', values.runtime);
const names = Array.from({ length: N }, (_, i) => `speaker-${i + 1}`);
const ips = Array.from({ length: 16 }, (_, i) => `198.51.100.${i + 10}`);

const members = new Map<string, MemberProcess>();
const alive = new Map<string, number>();
const announces: { ip: string; by: string; epoch: number; t: number }[] = [];
const claims = new Map<string, Claim>();

const debug: Record<string, unknown>[] = [];
function onLine(by: string, msg: Record<string, unknown>): void {
  if (process.env.MESH_DEBUG !== undefined && typeof msg.t === 'number') debug.push({ by, ...msg });
  if (typeof msg.alive === 'number') alive.set(by, msg.alive);
  if (typeof msg.announce === 'string') {
    const a = { ip: msg.announce, by, epoch: Number(msg.epoch), t: Number(msg.t) };
    announces.push(a);
    const cur = claims.get(a.ip);
    if (cur === undefined || a.epoch > cur.epoch) claims.set(a.ip, { ip: a.ip, node: by, epoch: a.epoch });
  }
}

async function start(name: string): Promise<MemberProcess> {
  alive.delete(name);
  const m = await startMember(script, {
    name,
    env: { MESH_KEY: key },
    nodeFlags: values['node-flags'],
    onLine,
  });
  members.set(name, m);
  return m;
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

const converged = (): boolean => names.every((n) => alive.get(n) === N);
const settle = (m: MemberProcess): void => {
  m.send({ settle: { nodes: names, ips, claims: [...claims.values()] } });
};

// Start, converge, and agree on the first announcers (what every speaker would compute).
const first = await start(names[0] as string);
for (const n of names.slice(1)) (await start(n)).send({ join: [first.endpoint] });
await until('the mesh to converge', converged);
const ready: NodeView = {
  name: '',
  ready: 'True',
  networkUnavailable: false,
  deleting: false,
  unschedulable: false,
  taints: [],
  labels: {},
};
const world0: World = {
  nodes: new Map(names.map((n) => [n, { ...ready, name: n }])),
  members: new Map(names.map((n) => [n, 'alive' as const])),
  advertisements: [
    { name: 'l2', pools: ['default'], nodeSelectors: [], interfaces: [], cordon: 'keep', failback: false },
  ],
  ips: ips.map((ip) => ({ ip, pool: 'default' })),
  claims: new Map(),
};
for (const d of decide(world0)) if (d.claim !== undefined) claims.set(d.ip, d.claim);
for (const m of members.values()) settle(m);
await until('the first announcements', () => announces.length >= ips.length);

async function trial(signal: 'SIGKILL' | 'SIGSTOP', i: number): Promise<number | undefined> {
  // An announcer (never the seed) holding at least one IP.
  const holders = [...new Set([...claims.values()].map((c) => c.node))].filter((n) => n !== names[0]);
  const victim = holders[i % holders.length] as string;
  const held = [...claims.values()].filter((c) => c.node === victim).map((c) => c.ip);
  const m = members.get(victim) as MemberProcess;
  const at = wallNow();
  m.proc.kill(signal);
  let result: number | undefined;
  try {
    await until('the heirs to take over', () =>
      held.every((ip) => announces.some((a) => a.ip === ip && a.by !== victim && a.t >= at)),
    );
    const took =
      Math.max(
        ...held.map((ip) => announces.find((a) => a.ip === ip && a.by !== victim && a.t >= at)?.t ?? 0),
      ) - at;
    if (process.env.MESH_DEBUG !== undefined && took > Number(process.env.MESH_DEBUG)) {
      console.error(`trial ${signal} ${victim} held ${held.join(',')}: ${took.toFixed(1)} ms`);
      for (const d of debug.filter((x) => (x.t as number) >= at))
        console.error(JSON.stringify({ ...d, t: ((d.t as number) - at).toFixed(1) }));
    }
    debug.length = 0;
    result =
      Math.max(
        ...held.map((ip) => announces.find((a) => a.ip === ip && a.by !== victim && a.t >= at)?.t ?? 0),
      ) - at;
  } catch {
    result = undefined;
  }
  // Reset the victim: a fresh process rejoins and learns the current claims.
  if (signal === 'SIGSTOP') m.proc.kill('SIGCONT');
  m.proc.kill('SIGKILL');
  const fresh = await start(victim);
  fresh.send({ join: [first.endpoint] });
  await until('the mesh to converge again', converged, 15_000);
  for (const x of members.values()) settle(x);
  // Let the fresh process finish starting (module loading, JIT): trials start from a steady state.
  await delay(1_000 + Math.random() * 500);
  return result;
}

const crash: number[] = [];
const hang: number[] = [];
let timeouts = 0;
for (let i = 0; i < Number(values.crash); i++) {
  const r = await trial('SIGKILL', i);
  if (r === undefined) timeouts++;
  else crash.push(r);
}
for (let i = 0; i < Number(values.hang); i++) {
  const r = await trial('SIGSTOP', i);
  if (r === undefined) timeouts++;
  else hang.push(r);
}
for (const m of members.values()) m.proc.kill('SIGKILL');
console.log(
  JSON.stringify(
    {
      benchmark: 'election-real',
      members: N,
      ips: ips.length,
      crash_to_heir_decision_ms: summarize(crash),
      hang_to_heir_decision_ms: summarize(hang),
      timeouts,
    },
    null,
    2,
  ),
);
