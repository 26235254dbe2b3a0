/**
 * What an idle cluster costs: the lab (`meshlb lab`: control plane,
 * controller, one speaker process per node, three dual-stack Services) left
 * alone, and the CPU each process used over a window, from /proc (user +
 * system ticks). The speakers' figure is what a node pays for meshlb doing
 * nothing but watching; on the lab's 2 cores it is also what every failover
 * queues behind. Needs root.
 *
 *   sudo node bench/lab-idle-cpu.ts [--nodes 8] [--warmup-seconds 25] [--seconds 20]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ClusterLab } from '../lab/testbed/lab/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '8' },
    'warmup-seconds': { type: 'string', default: '25' },
    seconds: { type: 'string', default: '20' },
  },
});

/** Clock ticks (user + system) and the command line of every process. */
function ticks(): Map<number, { cmd: string; ticks: number }> {
  const out = new Map<number, { cmd: string; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      out.set(Number(d), { cmd, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const HZ = 100; // USER_HZ on Linux
const lab = await ClusterLab.start({ nodes: Number(values.nodes) });
try {
  await delay(Number(values['warmup-seconds']) * 1_000);
  const a = ticks();
  const t0 = performance.now();
  await delay(Number(values.seconds) * 1_000);
  const b = ticks();
  const secs = (performance.now() - t0) / 1_000;
  const share = (pid: number): number => {
    const x = b.get(pid);
    const y = a.get(pid);
    return x === undefined || y === undefined ? 0 : ((x.ticks - y.ticks) / HZ / secs) * 100;
  };
  const speakers = [...lab.speakers.values()].map((c) => share(c.pid));
  const of = (re: RegExp): number =>
    [...b].filter(([, p]) => re.test(p.cmd)).reduce((n, [pid]) => n + share(pid), 0);
  const s = summarize(speakers);
  console.log(
    JSON.stringify(
      {
        benchmark: 'lab-idle-cpu',
        nodes: speakers.length,
        seconds: Math.round(secs),
        speaker_cpu_percent_of_a_core: {
          median: s.p50,
          max: s.max,
          each: speakers.map((x) => Math.round(x * 10) / 10),
        },
        controller_cpu_percent: Math.round(of(/cli\/main\.ts controller/) * 10) / 10,
        kube_apiserver_cpu_percent: Math.round(of(/kube-apiserver/) * 10) / 10,
        etcd_cpu_percent: Math.round(of(/\/etcd /) * 10) / 10,
      },
      null,
      2,
    ),
  );
} finally {
  await lab.stop();
}
