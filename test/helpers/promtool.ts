import { spawnSync } from 'node:child_process';

/**
 * `promtool check metrics` on a scrape: its exit status and everything it
 * printed (it prints nothing for a clean scrape). Throws when promtool cannot
 * run at all (scripts/bootstrap.sh's meshlb_ensure_promtool provides it).
 */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined)
    throw new Error(
      `promtool not runnable (${r.error.message}): see meshlb_ensure_promtool in scripts/bootstrap.sh`,
    );
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
