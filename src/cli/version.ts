import { readFileSync } from 'node:fs';
import type { Command } from './command.ts';

interface PackageJson {
  version: string;
}

function packageVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as PackageJson).version;
}

export const version: Command = {
  name: 'version',
  summary: 'print the meshlb version and the Node.js it runs on',
  help: 'usage: meshlb version\n\nPrints the meshlb version and the Node.js version.',
  run(): Promise<number> {
    console.log(`meshlb ${packageVersion()} (node ${process.version})`);
    return Promise.resolve(0);
  },
};
