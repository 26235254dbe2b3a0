import { controller } from './controller.ts';
import { usage as formatUsage } from './dispatch.ts';
import { explain } from './explain.ts';
import { migrate } from './migrate.ts';
import { speaker } from './speaker.ts';
import { status } from './status.ts';
import { version } from './version.ts';
import type { Command } from './command.ts';

/**
 * The product's commands: what the image runs. `meshlb lab` and `meshlb chaos`
 * are the test lab's (lab/cli/main.ts); nothing here imports lab/.
 */
export const COMMANDS: readonly Command[] = [speaker, controller, status, explain, migrate, version];

/** Where the help points for the lab's commands. */
export const USAGE_FOOTER =
  'In a checkout, "./meshlb lab" and "./meshlb chaos" run the test lab (lab/cli/main.ts).';

export function usage(): string {
  return formatUsage(COMMANDS, USAGE_FOOTER);
}
