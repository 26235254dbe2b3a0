#!/usr/bin/env node
/**
 * The test lab's `meshlb` commands: `meshlb lab` and `meshlb chaos`. They are
 * not part of the product (src/), which never imports lab/; this entry point
 * dispatches them the way src/cli/main.ts dispatches the product's commands
 * (src/cli/dispatch.ts). Run through the `./meshlb` wrapper at the repository
 * root, which sends `lab` and `chaos` here.
 */
import process from 'node:process';
import type { Command } from '../../src/cli/command.ts';
import { runCommand } from '../../src/cli/dispatch.ts';
import { chaos } from './chaos.ts';
import { lab } from './lab.ts';

const COMMANDS: readonly Command[] = [lab, chaos];
const FOOTER = 'The product\'s commands (speaker, controller, status, ...): "./meshlb --help".';

process.exitCode = await runCommand(COMMANDS, process.argv.slice(2), FOOTER);
