/**
 * The image's root filesystem, unpacked into a temporary directory: what
 * bench/image.ts and bench/footprint.ts run the speaker from (its Node, its
 * compiled JS, its node_modules). `remove()` deletes it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { meshlbImage } from '../lab/testbed/kubelet/images.ts';
import { freePort } from '../lab/testbed/ports.ts';
import { poll } from '../lab/testbed/poll.ts';
import { writeMeshKey, writeUnreachableKubeconfig } from '../lab/testbed/speakers/kube-speakers.ts';

export interface ImageTree {
  archive: string;
  /** The unpacked layer: /usr/local/bin/node, /app/src/cli/main.js, /app/node_modules. */
  rootfs: string;
  /** A scratch directory beside it. */
  work: string;
  layerBytes: { compressed: number; unpacked: number };
  remove(): void;
}

export async function unpackImage(): Promise<ImageTree> {
  const archive = await meshlbImage();
  const work = mkdtempSync(join(tmpdir(), 'meshlb-bench-image-'));
  try {
    execFileSync('tar', ['-xf', archive, '-C', work]);
    const index = JSON.parse(readFileSync(join(work, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const blob = (digest: string): Buffer =>
      readFileSync(join(work, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const manifest = JSON.parse(blob(index.manifests[0]?.digest ?? '').toString()) as {
      layers: { digest: string }[];
    };
    const layer = blob(manifest.layers[0]?.digest ?? '');
    const unpacked = gunzipSync(layer);
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    writeFileSync(join(work, 'layer.tar'), unpacked);
    execFileSync('tar', ['-xf', join(work, 'layer.tar'), '-C', rootfs]);
    return {
      archive,
      rootfs,
      work,
      layerBytes: { compressed: layer.length, unpacked: unpacked.length },
      remove: () => {
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/** The DaemonSet's NODE_OPTIONS (deploy/kustomize/base/speaker.yaml). */
export const SPEAKER_NODE_OPTIONS = '--max-semi-space-size=1';

/** A speaker alone on loopback (an unreachable API server: it stays up, not ready). */
export interface LoneSpeaker {
  pid: number;
  /** Spawn to /healthz 200, ms. */
  startMs: number;
  kill(): void;
}

/**
 * Starts `argv` (a node binary and meshlb's main script) as `meshlb speaker`
 * on lo with a mesh key and a kubeconfig written into `work`, as the DaemonSet
 * sets its environment, and resolves once /healthz answers 200. Needs root
 * (packet sockets on lo).
 */
export async function startLoneSpeaker(argv: readonly string[], work: string): Promise<LoneSpeaker> {
  const key = writeMeshKey(work);
  const kubeconfig = writeUnreachableKubeconfig(work);
  const metrics = await freePort();
  const health = await freePort();
  const t0 = performance.now();
  const child = spawn(
    argv[0] ?? '',
    [
      ...argv.slice(1),
      'speaker',
      '--node-name=n1',
      '--pod-name=p1',
      '--mesh-address=127.0.0.1',
      `--mesh-port=${await freePort()}`,
      `--mesh-key-file=${key}`,
      `--kubeconfig=${kubeconfig}`,
      `--metrics-addr=127.0.0.1:${metrics}`,
      `--health-addr=127.0.0.1:${health}`,
      '--interfaces=lo',
      '--log-level=silent',
    ],
    { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: SPEAKER_NODE_OPTIONS, NODE_ENV: 'production' } },
  );
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  const up = await poll(
    async () => (await fetch(`http://127.0.0.1:${health}/healthz`).catch(() => undefined))?.status === 200,
    20_000,
    5,
  );
  if (up === undefined) {
    kill();
    throw new Error(`${argv.join(' ')}: the speaker's /healthz never answered`);
  }
  return { pid: child.pid ?? 0, startMs: performance.now() - t0, kill };
}
