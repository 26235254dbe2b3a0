/**
 * Real-process mesh benchmark (issue: mesh, benchmarks 4 and 5): N speakers as
 * separate OS processes on loopback over libp2p (lab/testbed/speakers/mesh-member.ts).
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
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  memberScript,
  rssMb,
  startMember,
  wallNow,
  type MemberProcess,
} from '../lab/testbed/speakers/index.ts';
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
const script = memberScript('mesh-member', values.runtime);
const now = wallNow;

interface Event {
  ev: string;
  node: string;
  t: number;
  by: string;
}
type Member = MemberProcess;

const events: Event[] = [];
const members = new Map<string, Member>();

async function start(name: string): Promise<Member> {
  const m = await startMember(script, {
    name,
    env: { MESH_KEY: key },
    nodeFlags: values['node-flags'],
    onLine: (by, msg) => {
      const e = msg as Partial<Event>;
      events.push({ ev: e.ev ?? '', node: e.node ?? '', t: e.t ?? 0, by });
    },
  });
  members.set(name, m);
  return m;
}

function join(m: Member, seeds: Member[]): void {
  m.send({ join: seeds.map((s) => s.endpoint) });
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
