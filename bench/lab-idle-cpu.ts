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
import { parseArgs } from 'node:util';
import { ClusterLab } from '../lab/testbed/lab/index.ts';
import { measureWindow } from './proc.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '8' },
    'warmup-seconds': { type: 'string', default: '25' },
    seconds: { type: 'string', default: '20' },
  },
});

const lab = await ClusterLab.start({ nodes: Number(values.nodes) });
try {
  const {
    secs,
    after: b,
    cpu: share,
  } = await measureWindow(Number(values['warmup-seconds']), Number(values.seconds));
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
        // The lab runs each speaker as `node src/cli/main.ts` (type stripping), not the image's compiled JS.
        speaker_rss_mib: summarize(
          [...lab.speakers.values()].map((c) => (b.get(c.pid)?.rssBytes ?? 0) / 2 ** 20),
        ),
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
