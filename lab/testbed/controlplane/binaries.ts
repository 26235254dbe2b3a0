import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../exec.ts';
import { ControlPlaneBinariesError } from './errors.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The directory holding `names`: $<envVar> when set (scripts/test and ./meshlb
 * set it), else whatever `build` (a build script under tools/, relative to the checkout)
 * prints (instant when cached, minutes cold).
 */
export async function toolBinaries(build: string, envVar: string, names: readonly string[]): Promise<string> {
  const complete = (dir: string): boolean => names.every((n) => existsSync(join(dir, n)));
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (complete(fromEnv)) return fromEnv;
    throw new ControlPlaneBinariesError(
      `${envVar}=${fromEnv} lacks one of ${names.join(', ')}: unset it or run ${build}`,
    );
  }
  const r = await run([join(ROOT, build)], { timeoutMs: 30 * 60_000 });
  const dir = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !complete(dir)) {
    throw new ControlPlaneBinariesError(`${build} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return dir;
}

/** etcd, kube-apiserver and kubectl ($MESHLB_CONTROLPLANE_BIN or tools/controlplane/build.sh, ~4 min cold). */
export function controlPlaneBinaries(): Promise<string> {
  return toolBinaries('tools/controlplane/build.sh', 'MESHLB_CONTROLPLANE_BIN', [
    'etcd',
    'kube-apiserver',
    'kubectl',
  ]);
}
