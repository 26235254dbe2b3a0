/**
 * The image's root filesystem, unpacked into a temporary directory: what
 * bench/image.ts and bench/footprint.ts run the speaker from (its Node, its
 * compiled JS, its node_modules). `remove()` deletes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { meshlbImage } from '../lab/testbed/kubelet/images.ts';

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
