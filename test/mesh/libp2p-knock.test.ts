// A member's process killed (kill -9): its kernel closes the connection and
// refuses new ones. The transport's knock reports the refusal at once.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../src/mesh/messages.ts';
import { waitFor } from '../helpers/wait.ts';
import { aliveSeenBy, identity, startSpeaker } from '../../lab/testbed/speakers/in-process.ts';

const CLUSTER = fileURLToPath(new URL('../../lab/testbed/speakers/in-process.ts', import.meta.url));

/** A member in a child process (the same network key), printing its endpoint. */
function child(key: Uint8Array): { endpoint: Promise<Endpoint>; kill: () => void } {
  const script = `
    const { identity, startSpeaker } = await import(${JSON.stringify(CLUSTER)});
    const s = await startSpeaker({ id: await identity('victim'), networkKey: Uint8Array.from(${JSON.stringify([...key])}) });
    console.log(JSON.stringify(s.transport.endpoint));`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = new Promise<Endpoint>((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', (l) => {
      resolve(JSON.parse(l) as Endpoint);
    });
    proc.once('exit', (code) => {
      reject(new Error(`member exited (${String(code)}) before it started`));
    });
  });
  return { endpoint, kill: () => proc.kill('SIGKILL') };
}

test('kill -9 of a member: the knock on its mesh port is refused and the member is unreachable at once', async (t) => {
  const key = new Uint8Array(32).fill(7);
  const a = await startSpeaker({ id: await identity('watcher'), networkKey: key });
  const victim = child(key);
  t.teardown(async () => {
    victim.kill();
    await a.stop();
  });
  a.membership.join([await victim.endpoint]);
  await waitFor('the watcher to see the victim alive', () => aliveSeenBy(a).includes('victim'), 15_000);
  // The transport knocks where it last sent: wait for a probe (of the victim: the only other member).
  await waitFor('a probe of the victim', () => a.membership.stats.probes > 0, 5_000);
  const unreachable: string[] = [];
  const original = a.membership.unreachable.bind(a.membership);
  a.membership.unreachable = (node: string) => {
    unreachable.push(node);
    original(node);
  };
  t.is(a.transport.stats.knocksRefused, 0);
  victim.kill();
  // Usually the knock is refused; on a loaded machine it can reach the listener
  // before the dying process closes it (knock.ts: the race), and then the next
  // probe's dial is refused instead. Either way: unreachable within seconds.
  await waitFor('the refusal to be reported', () => unreachable.includes('victim'), 5_000);
  t.log(`knocks refused: ${a.transport.stats.knocksRefused}`);
  t.true(unreachable.includes('victim'));
});
