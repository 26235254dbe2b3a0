/**
 * Real-process mesh benchmark (issue: mesh, benchmarks 4 and 5): N speakers as
 * separate OS processes on loopback over libp2p (bench/mesh-real-member.ts).
 *
 *   node bench/mesh-real.ts [--members 8] [--trials 20] [--stalls 10]
 *                           [--node-flags '--max-semi-space-size=1'] [--runtime js|ts]
 *
 * - kill -9 a member: time until every other member marks it dead;
 * - restart it (new process, new identity): time until every other member
 *   knows it alive again (join);
 * - SIGSTOP a member for 300 ms, SIGCONT: is it declared dead by anyone?
 * - resident memory (VmRSS) of every member at the end.
 *
 * Members run as compiled JavaScript (`npm run build` → dist/, done here
 * first), as the speaker image will: type-stripping .ts at start-up costs
 * ~20 MB of RSS per process (`--runtime ts` measures that).
 * Members run with --max-semi-space-size=1 by default, as the speaker will: V8's
 * default young generation (16 MB semi-spaces) is sized for allocation-heavy
 * servers and costs a speaker ~20 MB of RSS for nothing (docs/benchmarks.md).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '8' },
    trials: { type: 'string', default: '20' },
    stalls: { type: 'string', default: '10' },
    'node-flags': { type: 'string', default: '--max-semi-space-size=1' },
    runtime: { type: 'string', default: 'js' },
  },
});
const N = Number(values.members);
const key = randomBytes(32).toString('hex');
const root = fileURLToPath(new URL('..', import.meta.url));
let script = joinPath(root, 'bench/mesh-real-member.ts');
if (values.runtime === 'js') {
  execFileSync(process.execPath, [
    joinPath(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    joinPath(root, 'tsconfig.build.json'),
  ]);
  script = joinPath(root, 'dist/bench/mesh-real-member.js');
}
const now = (): number => performance.timeOrigin + performance.now();

interface Event {
  ev: string;
  node: string;
  t: number;
  by: string;
}
interface Member {
  name: string;
  proc: ChildProcess;
  endpoint: unknown;
}

const events: Event[] = [];
const members = new Map<string, Member>();

function start(name: string): Promise<Member> {
  const flags = values['node-flags'].split(' ').filter((f) => f !== '');
  const proc = spawn(process.execPath, [...flags, script], {
    env: { ...process.env, MESH_NAME: name, MESH_KEY: key },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const msg = JSON.parse(line) as { ready?: unknown } & Partial<Event>;
      if (msg.ready !== undefined) {
        const m = { name, proc, endpoint: msg.ready };
        members.set(name, m);
        resolve(m);
      } else events.push({ ev: msg.ev ?? '', node: msg.node ?? '', t: msg.t ?? 0, by: name });
    });
  });
}

function join(m: Member, seeds: Member[]): void {
  m.proc.stdin?.write(`${JSON.stringify({ join: seeds.map((s) => s.endpoint) })}\n`);
}

/** Waits until every other live member reported `ev` about `node` after `since`; returns the last report time. */
async function allReport(
  node: string,
  evs: string[],
  since: number,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = [...members.keys()].filter((n) => n !== node);
    const times = others.map(
      (by) => events.find((e) => e.by === by && e.node === node && e.t >= since && evs.includes(e.ev))?.t,
    );
    if (times.every((t) => t !== undefined)) return Math.max(...times);
    if (Date.now() > deadline) return undefined;
    await delay(5);
  }
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const names = Array.from({ length: N }, (_, i) => `speaker-${i + 1}`);
const first = await start(names[0] as string);
for (const n of names.slice(1)) join(await start(n), [first]);
const converged = await allReport(names[N - 1] as string, ['joined', 'alive'], 0, 10_000);
if (converged === undefined) throw new Error('the mesh did not converge in 10 s');
await delay(2_000); // measured startup only; every later wait has a condition

const detection: number[] = [];
const joins: number[] = [];
let detectionTimeouts = 0;
let joinTimeouts = 0;
for (let i = 0; i < Number(values.trials); i++) {
  const victim = names[1 + (i % (N - 1))] as string;
  const m = members.get(victim) as Member;
  const killedAt = now();
  m.proc.kill('SIGKILL');
  const dead = await allReport(victim, ['dead'], killedAt, 10_000);
  if (dead === undefined) detectionTimeouts++;
  else detection.push(dead - killedAt);
  members.delete(victim);
  const startedAt = now();
  const fresh = await start(victim);
  const joinedFrom = now();
  join(fresh, [first]);
  const alive = await allReport(victim, ['joined', 'alive'], startedAt, 10_000);
  if (alive === undefined) joinTimeouts++;
  else joins.push(alive - joinedFrom);
  await delay(300 + Math.random() * 500); // decorrelate trials from the probe schedule
}

let stalledDead = 0;
let stalledSuspected = 0;
for (let i = 0; i < Number(values.stalls); i++) {
  const victim = names[1 + (i % (N - 1))] as string;
  const m = members.get(victim) as Member;
  const at = now();
  m.proc.kill('SIGSTOP');
  await delay(300);
  m.proc.kill('SIGCONT');
  await delay(3_000); // the window in which a false verdict would arrive
  const about = events.filter((e) => e.node === victim && e.t >= at);
  stalledDead += about.filter((e) => e.ev === 'dead').length;
  if (about.some((e) => e.ev === 'suspect')) stalledSuspected++;
}

const rss = [...members.values()].map((m) => rssMb(m.proc.pid as number));
for (const m of members.values()) m.proc.kill('SIGKILL');
console.log(
  JSON.stringify(
    {
      benchmark: 'mesh-real',
      members: N,
      runtime: values.runtime,
      node_flags: values['node-flags'],
      kill9_detection_ms: summarize(detection),
      detection_timeouts: detectionTimeouts,
      join_ms: summarize(joins),
      join_timeouts: joinTimeouts,
      sigstop_300ms: {
        stalls: Number(values.stalls),
        declared_dead: stalledDead,
        suspected_in: stalledSuspected,
      },
      rss_mb: summarize(rss),
    },
    null,
    2,
  ),
);
