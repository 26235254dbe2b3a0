import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** A long-running child in its own process group, its output in a log file. */
export interface GroupChild {
  readonly pid: number;
  readonly log: string;
  /** Exit code or signal once it has exited, else undefined. */
  exited(): string | undefined;
  /** Resolves when it exits. */
  readonly done: Promise<void>;
  /** Keeps this process alive until the child exits (call before waiting on `done`). */
  ref(): void;
}

/**
 * Starts argv detached (its own process group, so the whole group can be
 * killed, grandchildren included) with stdout and stderr appended to `log`.
 * The child is unref'd: it never keeps this process alive (callers kill it,
 * and ref() it while they wait for it to exit).
 */
export function spawnGroup(argv: readonly string[], log: string, env?: NodeJS.ProcessEnv): GroupChild {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('spawnGroup: empty argv');
  const fd = openSync(log, 'a');
  const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  let status: string | undefined;
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal ?? String(code);
      resolve();
    });
    child.once('error', (err) => {
      status = err.message;
      resolve();
    });
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  return {
    pid: child.pid,
    log,
    exited: () => status,
    done,
    ref: () => {
      child.ref();
    },
  };
}

/** Sends a signal to a whole process group; false when it no longer exists. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills a running group child with SIGKILL (as a crash would) and waits for it
 * to exit; nothing when it is gone already or was never started.
 */
export async function killChild(c: GroupChild | undefined): Promise<void> {
  if (c === undefined || c.exited() !== undefined) return;
  c.ref();
  killGroup(c.pid, 'SIGKILL');
  await c.done;
}

/** The last `lines` lines of a log file ('' when unreadable). */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
