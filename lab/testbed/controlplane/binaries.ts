import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../exec.ts';
import { ControlPlaneBinariesError } from './errors.ts';

const BUILD = fileURLToPath(new URL('../../../tools/controlplane/build.sh', import.meta.url));
const NAMES = ['etcd', 'kube-apiserver', 'kubectl'] as const;

function complete(dir: string): boolean {
  return NAMES.every((n) => existsSync(join(dir, n)));
}

/**
 * The directory holding etcd, kube-apiserver and kubectl: $MESHLB_CONTROLPLANE_BIN
 * when set (scripts/test and ./meshlb set it), else whatever
 * tools/controlplane/build.sh prints (instant when cached, ~4 min cold).
 */
export async function controlPlaneBinaries(): Promise<string> {
  const fromEnv = process.env.MESHLB_CONTROLPLANE_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (complete(fromEnv)) return fromEnv;
    throw new ControlPlaneBinariesError(
      `MESHLB_CONTROLPLANE_BIN=${fromEnv} lacks one of ${NAMES.join(', ')}: unset it or run tools/controlplane/build.sh`,
    );
  }
  const r = await run([BUILD], { timeoutMs: 30 * 60_000 });
  const dir = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !complete(dir)) {
    throw new ControlPlaneBinariesError(
      `tools/controlplane/build.sh failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return dir;
}
