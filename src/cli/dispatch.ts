/**
 * What both `meshlb` entry points do with a command line: src/cli/main.ts
 * (the product's commands) and lab/cli/main.ts (the test lab's `lab` and
 * `chaos`) each pass their own commands here.
 */
import type { Command } from './command.ts';
import { CliUsageError } from './errors.ts';

/** The command list printed by --help and after an unknown command; `footer`, when given, ends it. */
export function usage(commands: readonly Command[], footer?: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  const text = `usage: meshlb <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nRun "meshlb <command> --help" for a command's flags.`;
  return footer === undefined ? text : `${text}\n${footer}`;
}

/**
 * Runs the command `argv` names and returns the process exit code: 2 for no
 * command, an unknown one or bad flags (CliUsageError), 1 for any other error,
 * else what the command returns.
 */
export async function runCommand(
  commands: readonly Command[],
  argv: string[],
  footer?: string,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage(commands, footer));
    return name === undefined ? 2 : 0;
  }
  // `meshlb --version` is `meshlb version` (what users try first).
  const command = commands.find((c) => c.name === (name === '--version' || name === '-V' ? 'version' : name));
  if (command === undefined) {
    console.error(`meshlb: unknown command "${name}"\n\n${usage(commands, footer)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliUsageError) {
      console.error(`meshlb ${name}: ${err.message}\n\n${command.help}`);
      return 2;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(`meshlb ${name}: ${e.name}: ${e.message}`);
    return 1;
  }
}
