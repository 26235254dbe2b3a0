/**
 * A lab node's cgroups. The kubelet puts every Pod under its `cgroupRoot`;
 * with cgroup v1 and no systemd that parent must exist beforehand in every
 * hierarchy (cpuset's with cpus and mems copied from the root, or no task can
 * join it). Teardown kills whatever still runs in the tree, then removes it,
 * deepest first, from every v1 hierarchy and from the v2 `unified` mount where
 * runc mirrors it (KUBELETS.md).
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const CGROUP = '/sys/fs/cgroup';

/** The mounted cgroup hierarchies (v1 controllers and the v2 `unified` mount). */
export function hierarchies(): string[] {
  if (!existsSync(CGROUP)) return [];
  return readdirSync(CGROUP)
    .map((h) => join(CGROUP, h))
    .filter((p) => {
      try {
        return statSync(p).isDirectory() && existsSync(join(p, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

/** Thrown when this machine's cgroups cannot host a kubelet (no v1 hierarchies mounted). */
export class CgroupsUnavailableError extends Error {
  override readonly name = 'CgroupsUnavailableError';
}

/** Creates `/<root>` in every v1 hierarchy (the kubelet's cgroupRoot). */
export function createCgroupRoot(root: string): void {
  const v1 = hierarchies().filter((h) => !h.endsWith('/unified'));
  if (!v1.some((h) => h.endsWith('/memory')) || !v1.some((h) => h.endsWith('/cpu'))) {
    throw new CgroupsUnavailableError(
      `the kubelet lab needs cgroup v1 memory and cpu hierarchies under ${CGROUP}; found: ${v1.join(', ') || 'none'}`,
    );
  }
  for (const h of v1) {
    const dir = join(h, root);
    mkdirSync(dir, { recursive: true });
    if (h.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        writeFileSync(join(dir, f), readFileSync(join(h, f), 'utf8'));
      }
    }
  }
}

/** Every cgroup directory under `/<root>` in hierarchy `h`, deepest first. */
function tree(h: string, root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        // vanished meanwhile
      }
    }
    out.push(dir);
  };
  walk(join(h, root));
  return out;
}

/** PIDs of every process in the tree `/<root>` (read from the pids or memory hierarchy). */
export function cgroupPids(root: string): number[] {
  const pids = new Set<number>();
  for (const h of hierarchies()) {
    for (const dir of tree(h, root)) {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
          const pid = Number(line);
          if (pid > 0) pids.add(pid);
        }
      } catch {
        // gone
      }
    }
  }
  return [...pids];
}

/** SIGKILLs every process in `/<root>` and removes the tree; synchronous (usable at exit). Returns what it could not remove. */
export function destroyCgroupRoot(root: string): string[] {
  for (let round = 0; round < 50; round++) {
    const pids = cgroupPids(root);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  const left: string[] = [];
  for (const h of hierarchies()) {
    for (const dir of tree(h, root)) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
      }
    }
  }
  return left;
}
