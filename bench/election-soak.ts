/**
 * False takeovers under loss (issue: election, benchmark 5). Needs root.
 * N speakers in network namespaces on a bridge (lab/testbed/netns), each
 * bridge port dropping a fraction of frames in each direction (nftables
 * `numgen random`: this kernel has no netem), for a number of minutes with
 * no failure injected. Every takeover counted is a false one.
 *
 *   sudo node bench/election-soak.ts [--members 8] [--minutes 10] [--loss 0.05] [--warmup-seconds 30]
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createLan } from '../lab/testbed/netns/index.ts';
import { ElectionCluster } from '../lab/testbed/speakers/index.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '8' },
    minutes: { type: 'string', default: '10' },
    loss: { type: 'string', default: '0.05' },
    'node-flags': { type: 'string', default: '--max-semi-space-size=1' },
    runtime: { type: 'string', default: 'js' },
    // Freshly started processes on 2 cores are JIT-cold and slow for a few
    // seconds: a run once counted 2 takeovers 1 s after boot. Steady state is
    // what the soak judges; start-up is the chaos suite's rolling restart.
    'warmup-seconds': { type: 'string', default: '30' },
  },
});
const N = Number(values.members);
const lan = await createLan({ hosts: N, client: false, prefix: 'mlbsoak' });
try {
  const cluster = new ElectionCluster({
    members: N,
    runtime: values.runtime,
    nodeFlags: values['node-flags'],
    place: (name) => {
      const host = lan.hosts[Number(name.split('-')[1]) - 1];
      if (host === undefined) throw new Error(`no host for ${name}`);
      return { netns: host.ns, listen: `/ip4/${host.ipv4}/tcp/7947`, allow: '/ip4/192.0.2.0/ipcidr/24' };
    },
  });
  await cluster.boot();
  await delay(Number(values['warmup-seconds']) * 1_000); // warm-up: time is the variable
  const before = { announces: cluster.announces.length, withdraws: cluster.withdraws.length };
  cluster.meshEvents.length = 0;
  for (const h of lan.hosts) await lan.dropFraction(h, Number(values.loss));
  const started = Date.now();
  await delay(Number(values.minutes) * 60_000); // the soak itself: time is the variable
  for (const h of lan.hosts) await lan.dropFraction(h, 0);
  const takeovers = cluster.announces.slice(before.announces);
  cluster.stop();
  console.log(
    JSON.stringify(
      {
        benchmark: 'election-soak',
        members: N,
        ips: cluster.ips.length,
        minutes: Number(((Date.now() - started) / 60_000).toFixed(2)),
        loss_per_port_per_direction: Number(values.loss),
        false_takeovers: takeovers.length,
        takeovers,
        withdrawals: cluster.withdraws.length - before.withdraws,
        // The mesh's own false alarms: every suspicion is one (nothing failed).
        suspicions: cluster.meshEvents.filter((e) => e.type === 'suspect').length,
        suspicions_raised_locally: cluster.meshEvents.filter((e) => e.type === 'suspect' && e.via === 'probe')
          .length,
        dead_verdicts: cluster.meshEvents.filter((e) => e.type === 'dead').length,
        dead: cluster.meshEvents.filter((e) => e.type === 'dead').slice(0, 20),
      },
      null,
      2,
    ),
  );
} finally {
  await lan.teardown();
}
