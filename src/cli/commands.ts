import { chaos } from './chaos.ts';
import { controller } from './controller.ts';
import { explain } from './explain.ts';
import { lab } from './lab.ts';
import { migrate } from './migrate.ts';
import { speaker } from './speaker.ts';
import { status } from './status.ts';
import { version } from './version.ts';

/** One `meshlb` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export const COMMANDS: readonly Command[] = [
  speaker,
  controller,
  status,
  explain,
  lab,
  chaos,
  migrate,
  version,
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: meshlb <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nRun "meshlb <command> --help" for a command's flags.`;
}
