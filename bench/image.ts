/**
 * The image against the checkout: what scripts/image ships (compiled JS,
 * pruned production node_modules, a stripped Node) and how a speaker starts
 * and what it holds in memory from it, beside `node src/cli/main.ts` (the
 * TypeScript sources by type stripping, as the process lab runs them).
 *
 * Each run starts `meshlb speaker` on loopback with an unreachable API server
 * (so it stays alive, not ready) and `NODE_OPTIONS=--max-semi-space-size=1`
 * as the DaemonSet sets it; it measures the time from spawn to /healthz 200
 * (its endpoints serve) and its resident memory `--settle-seconds` later. This
 * is the process alone, without the cluster: bench/kubelet.ts gives the
 * speaker's steady figures in the Pods of a real cluster. Needs root (the
 * speaker opens packet sockets on lo).
 *
 *   sudo node bench/image.ts [--runs 10] [--settle-seconds 5]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startLoneSpeaker, unpackImage } from './image-tree.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, 'settle-seconds': { type: 'string', default: '5' } },
});
const MAIN_TS = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

const image = await unpackImage();
const { archive, rootfs, work } = image;
try {
  const du = (path: string): number =>
    Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);

  const runtimes: Record<string, string[]> = {
    'image (compiled JS, its node and node_modules)': [
      join(rootfs, 'usr/local/bin/node'),
      join(rootfs, 'app/src/cli/main.js'),
    ],
    'checkout (.ts by type stripping)': [process.execPath, MAIN_TS],
  };
  const results: Record<string, unknown> = {};
  for (const [name, argv] of Object.entries(runtimes)) {
    const startMs: number[] = [];
    const rssMib: number[] = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const speaker = await startLoneSpeaker(argv, work);
      try {
        startMs.push(speaker.startMs);
        await delay(Number(values['settle-seconds']) * 1_000);
        const status = readFileSync(`/proc/${speaker.pid}/status`, 'utf8');
        rssMib.push(Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024);
      } finally {
        speaker.kill();
      }
    }
    results[name] = { spawn_to_healthz_ms: summarize(startMs, 0), rss_mib_after_settle: summarize(rssMib) };
  }
  console.log(
    JSON.stringify(
      {
        benchmark: 'image',
        archive,
        image_mb: {
          unpacked: Math.round(image.layerBytes.unpacked / 1e5) / 10,
          compressed: Math.round(image.layerBytes.compressed / 1e5) / 10,
          node_binary: Math.round(du(join(rootfs, 'usr/local/bin/node')) / 1e5) / 10,
          node_modules: Math.round(du(join(rootfs, 'app/node_modules')) / 1e5) / 10,
          app_js: Math.round(du(join(rootfs, 'app/src')) / 1e5) / 10,
          libraries: Math.round((du(join(rootfs, 'lib')) + du(join(rootfs, 'lib64'))) / 1e5) / 10,
        },
        speaker_start: results,
      },
      null,
      2,
    ),
  );
} finally {
  image.remove();
}
