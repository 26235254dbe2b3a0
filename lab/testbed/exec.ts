import { execFile } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command did not finish within its deadline (it was killed). */
export class ExecTimeoutError extends Error {
  override name = 'ExecTimeoutError';
}

/**
 * Runs argv (no shell) and resolves with its exit code and output; a non-zero
 * exit is a result, not an error. Rejects with ExecTimeoutError after timeoutMs
 * and with the spawn error when the program cannot be started at all.
 */
export function run(
  argv: readonly string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError('run: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const e = err as Error & { killed?: boolean; code?: unknown };
        if (e.killed === true) {
          reject(new ExecTimeoutError(`${argv.join(' ')} did not finish within ${timeoutMs} ms`));
        } else if (typeof e.code === 'number') {
          resolve({ code: e.code, stdout, stderr });
        } else {
          reject(e);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but a non-zero exit rejects with the command and its stderr. */
export async function runOk(
  argv: readonly string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new CommandFailedError(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

export class CommandFailedError extends Error {
  override name = 'CommandFailedError';
}
