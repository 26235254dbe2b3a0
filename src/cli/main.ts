#!/usr/bin/env node
/**
 * The `meshlb` command. Each subcommand lives in its own file and exports a
 * `Command`; this file only dispatches. Run through the `./meshlb` wrapper at
 * the repository root, which first installs what the command needs.
 */
import process from 'node:process';
import { COMMANDS, usage } from './commands.ts';
import { CliUsageError } from './errors.ts';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`meshlb: unknown command "${name}"\n\n${usage()}`);
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

process.exitCode = await main(process.argv.slice(2));
