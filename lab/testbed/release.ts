/**
 * An earlier release of meshlb to run beside this one (mixed-version tests):
 * a git worktree of a named commit of this repository, sharing this tree's
 * node_modules and built packet-socket addon (so the commit must need no
 * other dependencies or addon: true of the commits the tests name; a test
 * naming an older one must install its own).
 */
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './exec.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The commit is not in this clone (a shallow clone has no history). */
export class CommitMissingError extends Error {
  override name = 'CommitMissingError';
}

export interface Release {
  commit: string;
  /** Its worktree. */
  dir: string;
  /** Its CLI (`node <main> speaker …`). */
  main: string;
  /** Removes the worktree. */
  remove(): Promise<void>;
}

export async function checkoutRelease(commit: string): Promise<Release> {
  const git = (...args: string[]) => run(['git', '-C', ROOT, ...args], { timeoutMs: 60_000 });
  if ((await git('cat-file', '-e', `${commit}^{commit}`)).code !== 0)
    throw new CommitMissingError(
      `commit ${commit} is not in this clone: the mixed-version tests run an earlier release from the repository's history (clone without --depth)`,
    );
  const dir = mkdtempSync(join(tmpdir(), `meshlb-release-${commit.slice(0, 8)}-`));
  await git('worktree', 'prune');
  const added = await git('worktree', 'add', '--detach', '--force', dir, commit);
  if (added.code !== 0) throw new Error(`git worktree add ${commit}: ${added.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const addon = join(ROOT, 'native', 'build');
  if (existsSync(addon)) symlinkSync(addon, join(dir, 'native', 'build'));
  return {
    commit,
    dir,
    main: join(dir, 'src', 'cli', 'main.ts'),
    remove: async () => {
      await git('worktree', 'remove', '--force', dir);
    },
  };
}
