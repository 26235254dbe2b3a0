/**
 * An earlier release of meshlb to run beside this one (mixed-version tests):
 * a git worktree of a named commit of this repository, sharing this tree's
 * node_modules, built packet-socket addon and fetched Node (so the commit must
 * need no other dependencies or addon: true of the commits the tests name; a
 * test naming an older one must install its own).
 */
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './exec.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The last commit of main before the mesh's frame format 2 (src/mesh/codec.ts):
 * its speakers read and write only version 1 (docs/mesh.md, "Mixed versions").
 */
export const RELEASE_BEFORE_FORMAT_2 = '4385091b68641afcaca0f3f0190267bfee4a23bb';

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

const git = (...args: string[]) => run(['git', '-C', ROOT, ...args], { timeoutMs: 60_000 });

async function mustHave(commit: string): Promise<void> {
  if ((await git('cat-file', '-e', `${commit}^{commit}`)).code !== 0)
    throw new CommitMissingError(
      `commit ${commit} is not in this clone: the mixed-version tests run an earlier release from the repository's history (clone without --depth)`,
    );
}

/** The version in that commit's package.json (its image is `meshlb:<version>`). */
export async function releaseVersion(commit: string): Promise<string> {
  await mustHave(commit);
  const r = await git('show', `${commit}:package.json`);
  if (r.code !== 0) throw new Error(`git show ${commit}:package.json: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { version: string }).version;
}

export async function checkoutRelease(commit: string): Promise<Release> {
  await mustHave(commit);
  const dir = mkdtempSync(join(tmpdir(), `meshlb-release-${commit.slice(0, 8)}-`));
  await git('worktree', 'prune');
  const added = await git('worktree', 'add', '--detach', '--force', dir, commit);
  if (added.code !== 0) throw new Error(`git worktree add ${commit}: ${added.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  // The built addon and the fetched Node (scripts/bootstrap.sh), when this tree has them.
  for (const shared of [join('native', 'build'), '.tools'])
    if (existsSync(join(ROOT, shared))) symlinkSync(join(ROOT, shared), join(dir, shared));
  return {
    commit,
    dir,
    main: join(dir, 'src', 'cli', 'main.ts'),
    remove: async () => {
      await git('worktree', 'remove', '--force', dir);
    },
  };
}
