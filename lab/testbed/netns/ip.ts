import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { run } from '../exec.ts';
import { NetnsSetupError, NetnsUnavailableError } from './errors.ts';

/** Runs `ip …` (or another command) and throws NetnsSetupError on failure. */
export async function sh(argv: readonly string[], input?: string): Promise<string> {
  const r = await run(argv, input === undefined ? { timeoutMs: 20_000 } : { timeoutMs: 20_000, input });
  if (r.code !== 0)
    throw new NetnsSetupError(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The absolute path of a system tool. Never trust PATH for these: under npx,
 * node_modules/.bin comes first and holds an unrelated `nft` (@vercel/nft).
 */
export function systemTool(name: string): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new NetnsUnavailableError(`${name} is missing: install it (scripts/test and ./meshlb do it as root)`);
}

/** Runs a batch of nft commands inside a namespace. */
export function nft(ns: string, script: string): Promise<string> {
  return sh(['ip', 'netns', 'exec', ns, systemTool('nft'), '-f', '-'], script);
}

/** Throws NetnsUnavailableError, in one sentence, when this process cannot build namespaces. */
export function requireNetns(): void {
  if (process.getuid?.() !== 0) {
    throw new NetnsUnavailableError(
      'network namespaces need root: run as root (sudo) to use the lab or the wire tests',
    );
  }
  systemTool('ip');
  systemTool('nft');
}

/** Names of all network namespaces. */
export function listNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** Kills every process inside a namespace, then deletes it (synchronous: usable at exit). */
export function deleteNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const pid of pids.split('\n').map(Number)) {
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
