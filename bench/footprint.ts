/**
 * The speaker's memory floor, by layer (issue 23: "show the floor"): the
 * image's own Node, with the DaemonSet's flags, loading one layer more at each
 * step, and its resident memory after a GC (split into anonymous memory and
 * file-backed pages: the node binary's code and data as far as touched), the
 * V8 heap and external memory. The last step is the speaker running on
 * loopback (an unreachable API server, as bench/image.ts). A row for
 * @kubernetes/client-node (from the checkout: the image no longer has it)
 * shows what meshlb's own client saved. Needs root (the running speaker opens
 * packet sockets on lo).
 *
 *   sudo node bench/footprint.ts [--runs 5] [--settle-seconds 5]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SPEAKER_NODE_OPTIONS, startLoneSpeaker, unpackImage } from './image-tree.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'settle-seconds': { type: 'string', default: '5' } },
});
const RUNS = Number(values.runs);

const LIBP2P = [
  'libp2p',
  '@libp2p/gossipsub',
  '@chainsafe/libp2p-noise',
  '@chainsafe/libp2p-yamux',
  '@libp2p/tcp',
  '@libp2p/identify',
  '@libp2p/pnet',
];

/** Imports its arguments, settles, collects garbage, prints what it holds (MiB). */
const PROBE = `
for (const m of process.argv.slice(2)) await import(m);
await new Promise((r) => setTimeout(r, 1000));
globalThis.gc();
await new Promise((r) => setTimeout(r, 300));
const t = process.getBuiltinModule('node:fs').readFileSync('/proc/self/status', 'utf8');
const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(t)?.[1] ?? 0) / 1024;
const m = process.memoryUsage();
console.log(JSON.stringify({ rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'),
  heap: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20 }));
`;

interface Sample {
  rss: number;
  anon: number;
  file: number;
  heap: number;
  external: number;
}

function status(pid: number): Sample {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), heap: NaN, external: NaN };
}

const image = await unpackImage();
try {
  const node = join(image.rootfs, 'usr/local/bin/node');
  const probeInImage = join(image.rootfs, 'app', 'footprint-probe.mjs');
  writeFileSync(probeInImage, PROBE);
  // The checkout's node_modules, for the client-node row only.
  const probeInCheckout = fileURLToPath(new URL('../node_modules/.footprint-probe.mjs', import.meta.url));
  writeFileSync(probeInCheckout, PROBE);
  const app = (rel: string): string => join(image.rootfs, 'app', rel);
  const steps: [string, string, string[]][] = [
    ['Node alone (the image’s binary, the DaemonSet’s flags)', probeInImage, []],
    ['+ node:https (OpenSSL, TLS: any API client)', probeInImage, ['node:https']],
    [
      '+ the libp2p stack (libp2p, gossipsub, noise, yamux, tcp, identify, pnet)',
      probeInImage,
      ['node:https', ...LIBP2P],
    ],
    [
      '+ pino, prom-client, js-yaml',
      probeInImage,
      ['node:https', ...LIBP2P, 'pino', 'prom-client', 'js-yaml'],
    ],
    ['+ meshlb’s speaker modules (loaded, not running)', probeInImage, [app('src/cli/speaker.js')]],
    [
      'for comparison: Node + @kubernetes/client-node (not in the image)',
      probeInCheckout,
      ['@kubernetes/client-node'],
    ],
  ];
  const results: Record<string, Record<keyof Sample, ReturnType<typeof summarize>>> = {};
  const record = (name: string, samples: Sample[]): void => {
    results[name] = Object.fromEntries(
      (['rss', 'anon', 'file', 'heap', 'external'] as const).map((k) => [
        k,
        summarize(samples.map((s) => s[k])),
      ]),
    ) as Record<keyof Sample, ReturnType<typeof summarize>>;
  };
  for (const [name, probe, mods] of steps) {
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = execFileSync(node, ['--expose-gc', probe, ...mods], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: SPEAKER_NODE_OPTIONS },
      });
      samples.push(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Sample);
    }
    record(name, samples);
  }

  // The speaker running, as bench/image.ts starts it.
  const running: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    const speaker = await startLoneSpeaker([node, app('src/cli/main.js')], image.work);
    try {
      await delay(Number(values['settle-seconds']) * 1_000);
      running.push(status(speaker.pid));
    } finally {
      speaker.kill();
    }
  }
  record(`the speaker running, ${values['settle-seconds']} s after /healthz (alone, no cluster)`, running);
  console.log(
    JSON.stringify(
      {
        benchmark: 'footprint',
        archive: image.archive,
        node_options: SPEAKER_NODE_OPTIONS,
        runs: RUNS,
        mib: results,
      },
      null,
      2,
    ),
  );
  execFileSync('rm', ['-f', probeInCheckout]);
} finally {
  image.remove();
}
