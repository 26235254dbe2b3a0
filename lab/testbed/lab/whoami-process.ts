import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Host, Lan } from '../netns/index.ts';

const WHOAMI = fileURLToPath(new URL('./whoami.ts', import.meta.url));

/** Starts whoami.ts (HTTP on port 80 naming the node) inside `host`; resolves once it listens. */
export async function startWhoami(lan: Lan, host: Host): Promise<ChildProcess> {
  const child = lan.spawn(host, [process.execPath, WHOAMI, host.name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`the HTTP endpoint on ${host.name} exited (${String(code)})`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', () => {
      resolve();
    });
  });
  return child;
}
