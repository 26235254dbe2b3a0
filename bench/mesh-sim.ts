/**
 * Membership benchmarks over the simulator (issue: mesh). Prints JSON.
 *
 *   node bench/mesh-sim.ts detection [--sizes 10,100,1000] [--trials 200] [--seed 1]
 *   node bench/mesh-sim.ts false-positives [--size 100] [--minutes 10]
 *   node bench/mesh-sim.ts load [--sizes 10,100,1000] [--seconds 60]
 *
 * Detection: time from a member going silent (crash: no FIN) until every live
 * member marks it dead. The victim then restarts with a higher incarnation and
 * rejoins, and the next trial picks another victim. LAN link model: 0.5 ± 0.2 ms.
 */
import { parseArgs } from 'node:util';
import { SimNetwork } from '../src/mesh/sim/index.ts';
import { summarize } from './stats.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string', default: '10,100,1000' },
    size: { type: 'string', default: '100' },
    trials: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '60' },
  },
});
const mode = positionals[0] ?? 'detection';
const seed = Number(values.seed);
const sizes = values.sizes.split(',').map(Number);

function countState(net: SimNetwork, node: string, state: string): number {
  let n = 0;
  for (const m of net.members.values())
    if (!m.crashed && m.name !== node && m.core.stateOf(node) === state) n++;
  return n;
}

function detection(n: number, trials: number): object {
  const net = new SimNetwork({ seed: seed + n });
  net.recordEvents = false;
  net.addConverged(n);
  net.run(2_000);
  const times: number[] = [];
  let timeouts = 0;
  const started = performance.now();
  for (let i = 0; i < trials; i++) {
    const names = net.live().map((m) => m.name);
    const victim = names[Math.floor(net.random() * names.length)] as string;
    const crashAt = net.clock.now();
    net.crash(victim);
    const others = n - 1;
    const at = net.runUntil(() => countState(net, victim, 'dead') === others, 10_000, n >= 1000 ? 10 : 2);
    if (at === undefined) timeouts++;
    else times.push(at - crashAt);
    const seedNode = names.find((x) => x !== victim) as string;
    net.restart(victim, seedNode);
    net.runUntil(() => countState(net, victim, 'alive') === others, 10_000, 5);
    net.run(500 + net.random() * 500);
  }
  return {
    members: n,
    trials,
    timeouts,
    detection_ms: summarize(times),
    wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
}

function falsePositives(n: number, minutes: number): object {
  const net = new SimNetwork({ seed, link: { latencyMs: 20, jitterMs: 10, loss: 0.05 } });
  const members = net.addConverged(n);
  const staller = members[0]?.name as string;
  const end = minutes * 60_000;
  let stalls = 0;
  const started = performance.now();
  while (net.clock.now() < end) {
    net.run(5_000);
    net.stall(staller, 300);
    stalls++;
  }
  const all = net.live().flatMap((m) => m.events);
  const suspected = new Set(all.filter((e) => e.type === 'suspect').map((e) => e.node));
  return {
    members: n,
    simulated_minutes: minutes,
    link: net.link,
    stalls_of_300ms: stalls,
    declared_dead: all.filter((e) => e.type === 'dead').length,
    suspicion_events: all.filter((e) => e.type === 'suspect').length,
    members_ever_suspected: suspected.size,
    staller_suspected_by: all.filter((e) => e.type === 'suspect' && e.node === staller).length,
    refutations: net.live().reduce((a, m) => a + m.core.stats.refutations, 0),
    wall_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
}

function load(n: number, seconds: number): object {
  const net = new SimNetwork({ seed: seed + n });
  net.recordEvents = false;
  net.addConverged(n);
  net.run(5_000);
  for (const m of net.members.values()) {
    m.sentMessages = 0;
    m.sentBytes = 0;
  }
  // In 10 s slices: the virtual clock caps the timers fired per advance.
  for (let t = 0; t < seconds; t += 10) net.run(Math.min(10, seconds - t) * 1000);
  const msgs = [...net.members.values()].map((m) => m.sentMessages / seconds);
  const bytes = [...net.members.values()].map((m) => m.sentBytes / seconds);
  return {
    members: n,
    seconds,
    messages_per_member_per_second: summarize(msgs),
    bytes_per_member_per_second: summarize(bytes, 0),
  };
}

const results: object[] = [];
switch (mode) {
  case 'detection':
    for (const n of sizes) results.push(detection(n, Number(values.trials)));
    break;
  case 'false-positives':
    results.push(falsePositives(Number(values.size), Number(values.minutes)));
    break;
  case 'load':
    for (const n of sizes) results.push(load(n, Number(values.seconds)));
    break;
  default:
    throw new Error(`unknown mode ${mode}: detection | false-positives | load`);
}
console.log(JSON.stringify({ benchmark: `mesh-sim ${mode}`, seed, results }, null, 2));
