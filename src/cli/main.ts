#!/usr/bin/env node
/**
 * The `meshlb` command: the product's subcommands (speaker, controller,
 * status, explain, migrate, version). Each lives in its own file and exports a
 * `Command`; this file only dispatches (./dispatch.ts). The test lab's `lab`
 * and `chaos` are lab/cli/main.ts's. Run through the `./meshlb` wrapper at the
 * repository root, which first installs what the command needs and picks the
 * entry point.
 */
import process from 'node:process';
import { COMMANDS, USAGE_FOOTER } from './commands.ts';
import { runCommand } from './dispatch.ts';

process.exitCode = await runCommand(COMMANDS, process.argv.slice(2), USAGE_FOOTER);
