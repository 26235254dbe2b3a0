/**
 * Writes a root filesystem directory as an OCI image archive (an OCI image
 * layout in a tar: `oci-layout`, `index.json`, `blobs/sha256/…`) with one
 * layer, without any container engine or registry. containerd imports it
 * (`ctr -n k8s.io images import FILE`) under the name in the index's
 * `io.containerd.image.name` annotation; podman, skopeo and buildah read it as
 * `oci-archive:FILE`.
 *
 * Reproducible: the layer is made by GNU tar with sorted names, owner and group
 * 0, every mtime at the epoch and no atime/ctime, then gzip without a name or
 * time, so the same tree gives the same digests.
 *
 *   node scripts/oci.ts --rootfs DIR --name meshlb:0.1.0 --config config.json --out meshlb.oci.tar
 *
 * `--config` is the image config's `config` object (Entrypoint, Cmd, Env,
 * User, WorkingDir, ExposedPorts, Labels); the rest is filled in here.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

/** The image config's `config` member (OCI image spec, config.md). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
}

export interface OciArchiveOptions {
  /** The directory that becomes the image's root filesystem. */
  rootfs: string;
  /** `name:tag`; a bare name is `docker.io/library/name` to containerd and the kubelet. */
  name: string;
  config: ImageRuntimeConfig;
  /** The archive to write (replaced atomically). */
  out: string;
}

export interface OciArchive {
  /** sha256:… of the manifest: the image's digest. */
  digest: string;
  /** Uncompressed size of the layer in bytes: what the image takes unpacked. */
  uncompressedBytes: number;
  /** Size of the gzip'd layer in bytes: what a registry would transfer. */
  compressedBytes: number;
}

/** Thrown when an image name cannot be turned into a containerd reference. */
export class ImageNameError extends Error {
  override readonly name = 'ImageNameError';
}

/** `meshlb:0.1.0` → `docker.io/library/meshlb:0.1.0`, as the kubelet and containerd normalise it. */
export function fullReference(name: string): string {
  if (!/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(name)) {
    throw new ImageNameError(`not an image reference: "${name}"`);
  }
  const withTag = name.includes(':') ? name : `${name}:latest`;
  const first = withTag.split('/')[0] ?? '';
  if (!withTag.includes('/')) return `docker.io/library/${withTag}`;
  if (first.includes('.') || first.includes(':') || first === 'localhost') return withTag;
  return `docker.io/${withTag}`;
}

/** GNU tar flags for the same bytes from the same tree: sorted names, owner 0, epoch times, no atime/ctime. */
const REPRODUCIBLE_TAR = [
  '--sort=name',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--mtime=@0',
  '--format=posix',
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export function writeOciArchive(opts: OciArchiveOptions): OciArchive {
  const reference = fullReference(opts.name);
  const work = mkdtempSync(join(tmpdir(), 'meshlb-oci-'));
  try {
    const blobs = join(work, 'layout', 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const blob = (data: Buffer): string => {
      const hex = sha256(data);
      writeFileSync(join(blobs, hex), data);
      return `sha256:${hex}`;
    };

    const layerTar = join(work, 'layer.tar');
    execFileSync('tar', [...REPRODUCIBLE_TAR, '-C', opts.rootfs, '-cf', layerTar, '.']);
    const tarBytes = readFileSync(layerTar);
    const gz = execFileSync('gzip', ['-n', '-6', '-c', layerTar], { maxBuffer: 1 << 30 });
    const layerDigest = blob(gz);

    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '1970-01-01T00:00:00Z',
        config: opts.config,
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tarBytes)}`] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'scripts/oci.ts' }],
      }),
    );
    const configDigest = blob(config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: gz.length },
        ],
      }),
    );
    const manifestDigest = blob(manifest);
    const tag = reference.slice(reference.lastIndexOf(':') + 1);
    writeFileSync(join(work, 'layout', 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(work, 'layout', 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifestDigest,
            size: manifest.length,
            platform: { architecture: 'amd64', os: 'linux' },
            annotations: {
              'io.containerd.image.name': reference,
              'org.opencontainers.image.ref.name': tag,
            },
          },
        ],
      }),
    );
    const out = resolve(opts.out);
    mkdirSync(dirname(out), { recursive: true });
    const partial = `${out}.partial`;
    execFileSync('tar', [...REPRODUCIBLE_TAR, '-C', join(work, 'layout'), '-cf', partial, '.']);
    renameSync(partial, out);
    return { digest: manifestDigest, uncompressedBytes: tarBytes.length, compressedBytes: gz.length };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rootfs: { type: 'string' },
      name: { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const { rootfs, name, config, out } = values;
  if (rootfs === undefined || name === undefined || config === undefined || out === undefined) {
    console.error('usage: node scripts/oci.ts --rootfs DIR --name NAME:TAG --config CONFIG.json --out FILE');
    process.exit(2);
  }
  const result = writeOciArchive({
    rootfs,
    name,
    out,
    config: JSON.parse(readFileSync(config, 'utf8')) as ImageRuntimeConfig,
  });
  console.log(JSON.stringify({ reference: fullReference(name), out: resolve(out), ...result }));
}

if (import.meta.filename === process.argv[1]) main();
