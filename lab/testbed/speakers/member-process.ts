/** Starting benchmark member processes (mesh-real, election-real). */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The member script to run: compiled JS (lab/tsconfig.members.json, the
 * production build's settings; built here first), as the speaker image would
 * run it, or the .ts source (type stripping costs ~20 MB of RSS per process).
 */
export function memberScript(name: string, runtime: string): string {
  if (runtime !== 'js') return join(root, `lab/testbed/speakers/${name}.ts`);
  execFileSync(process.execPath, [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(root, 'lab/tsconfig.members.json'),
  ]);
  return join(root, `dist/lab/testbed/speakers/${name}.js`);
}

export interface MemberProcess {
  name: string;
  proc: ChildProcess;
  endpoint: unknown;
  send(cmd: object): void;
}

/** Spawns a member; resolves once it printed {"ready": endpoint} (its first line); every later line goes to onLine. */
export function startMember(
  script: string,
  opts: {
    name: string;
    env: Record<string, string>;
    nodeFlags: string;
    onLine: (name: string, msg: Record<string, unknown>) => void;
    /** Runs the member inside this network namespace (`ip netns exec` execs it: same pid). */
    netns?: string;
  },
): Promise<MemberProcess> {
  const flags = opts.nodeFlags.split(' ').filter((f) => f !== '');
  const argv = [process.execPath, ...flags, script];
  const [file, ...args] = opts.netns === undefined ? argv : ['ip', 'netns', 'exec', opts.netns, ...argv];
  const proc = spawn(file as string, args, {
    env: { ...process.env, ...opts.env, MESH_NAME: opts.name },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let resolved = false;
  return new Promise((resolve) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (resolved || msg.ready === undefined) {
        opts.onLine(opts.name, msg);
        return;
      }
      resolved = true;
      resolve({
        name: opts.name,
        proc,
        endpoint: msg.ready,
        send: (cmd) => {
          proc.stdin.write(`${JSON.stringify(cmd)}\n`);
        },
      });
    });
  });
}

/** Resident memory of a process in MB (VmRSS). */
export function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Wall-clock ms comparable across processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();
