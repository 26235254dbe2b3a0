/**
 * The two images a lab node needs, built here (no registry is reachable): the
 * pause image (lab/images/pause.c, static, one file) and meshlb's own
 * (scripts/image). Both are OCI archives that `ctr images import` takes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOciArchive } from '../../../scripts/oci.ts';
import { run } from '../exec.ts';
import { checkoutRelease, releaseVersion } from '../release.ts';
import { PAUSE_IMAGE } from './node-files.ts';

const PAUSE_C = fileURLToPath(new URL('../../images/pause.c', import.meta.url));
const IMAGE_SCRIPT = fileURLToPath(new URL('../../../scripts/image', import.meta.url));

/** Thrown when an image cannot be built; carries the builder's output. */
export class ImageBuildError extends Error {
  override readonly name = 'ImageBuildError';
}

/** The name this checkout's image carries (scripts/image): meshlb:<package.json version>. */
export const MESHLB_IMAGE_REF = `meshlb:${
  (
    JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version
}`;

const cacheDir = (): string => process.env.MESHLB_CACHE_DIR ?? join(homedir(), '.cache', 'meshlb');

/** The pause image's archive: built once per source hash into ~/.cache/meshlb/. */
export async function pauseImage(): Promise<string> {
  const source = readFileSync(PAUSE_C);
  const sum = createHash('sha256').update(source).update(PAUSE_IMAGE).digest('hex').slice(0, 12);
  const out = join(cacheDir(), `pause-${sum}.oci.tar`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir(), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'meshlb-pause-'));
  try {
    mkdirSync(join(work, 'rootfs'));
    const cc = await run([
      'gcc',
      '-static',
      '-Os',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-o',
      join(work, 'rootfs', 'pause'),
      PAUSE_C,
    ]);
    if (cc.code !== 0)
      throw new ImageBuildError(`gcc -static pause.c (needs libc6-dev): ${cc.stderr.trim()}`);
    await run(['strip', join(work, 'rootfs', 'pause')]);
    writeOciArchive({
      rootfs: join(work, 'rootfs'),
      name: PAUSE_IMAGE,
      out,
      config: { Entrypoint: ['/pause'], User: '65535:65535' },
    });
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * meshlb's image archive: $MESHLB_IMAGE when set (scripts/test builds it once
 * for every test), else scripts/image builds it from this checkout (~1 min).
 */
export async function meshlbImage(): Promise<string> {
  const fromEnv = process.env.MESHLB_IMAGE;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (existsSync(fromEnv)) return fromEnv;
    throw new ImageBuildError(`MESHLB_IMAGE=${fromEnv} does not exist: unset it or run scripts/image`);
  }
  const r = await run([IMAGE_SCRIPT], { timeoutMs: 15 * 60_000 });
  const path = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !existsSync(path)) {
    throw new ImageBuildError(`scripts/image failed (exit ${r.code}):\n${r.stderr.trim()}`);
  }
  return path;
}

/**
 * The image of an earlier release (a commit of this repository; mixed-version
 * tests), built by that commit's own scripts/image in a worktree and kept in
 * ~/.cache/meshlb/ by commit: it never changes. Its tag inside is that
 * release's `meshlb:<version>`, which may be this one's: import it under
 * another name (KubeletNode.importImage).
 */
export async function releaseImage(commit: string): Promise<{ archive: string; ref: string }> {
  const out = join(cacheDir(), `meshlb-release-${commit}.oci.tar`);
  const ref = `meshlb:${await releaseVersion(commit)}`;
  if (existsSync(out)) return { archive: out, ref };
  const release = await checkoutRelease(commit);
  try {
    const partial = `${out}.partial`;
    const r = await run([join(release.dir, 'scripts', 'image'), '--out', partial], {
      timeoutMs: 15 * 60_000,
    });
    if (r.code !== 0 || !existsSync(partial))
      throw new ImageBuildError(`scripts/image of ${commit} failed (exit ${r.code}):\n${r.stderr.trim()}`);
    renameSync(partial, out);
    return { archive: out, ref };
  } finally {
    await release.remove();
  }
}
