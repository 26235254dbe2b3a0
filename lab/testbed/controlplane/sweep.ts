import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../cleanup.ts';
import { killGroup } from '../process-group.ts';

export const WORKDIR_PREFIX = 'meshlb-cp-';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Removes control planes whose owning process died without cleaning up
 * (SIGKILL, a crashed test worker): kills their etcd and kube-apiserver
 * process groups — only if the pid still runs a command that names the work
 * dir, so a recycled pid is never hit — and deletes the work dir.
 */
export function sweepStaleControlPlanes(): number {
  let swept = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(WORKDIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = Number(read(join(dir, 'owner')));
    if (!(owner > 0) || pidAlive(owner)) continue;
    for (const line of read(join(dir, 'pids')).split('\n')) {
      const pid = Number(line);
      if (pid > 0 && read(`/proc/${pid}/cmdline`).includes(dir)) killGroup(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    swept++;
  }
  return swept;
}
