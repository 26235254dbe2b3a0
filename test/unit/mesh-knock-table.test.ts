import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import test from 'ava';
import { KnockTable } from '../../src/mesh/libp2p/knock-table.ts';
import { waitFor } from '../helpers/wait.ts';

/** A loopback TCP port: listening, or closed (a connect to it is refused). */
async function port(listening: boolean): Promise<{ port: number; close: () => void }> {
  const server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): void => {
    server.close();
  };
  if (!listening)
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  return { port, close };
}

const endpoint = (p: number) => ({
  peerId: 'peer',
  addrs: [`/ip4/127.0.0.1/tcp/${p}`, '/ip4/127.0.0.1/udp/1'],
});

test('a refused knock reports the member and keeps it knocked out until it speaks', async (t) => {
  const refused: string[] = [];
  const table = new KnockTable(16, (node) => refused.push(node));
  const closed = await port(false);
  table.knock('node-a');
  t.false(table.knockedOut('node-a'), 'no endpoint sent to: nowhere to knock');
  table.sentTo('node-a', endpoint(closed.port));
  table.knock('node-a');
  t.true(table.knockedOut('node-a'), 'knocking');
  await waitFor('refused', () => refused.length === 1);
  t.deepEqual(refused, ['node-a']);
  t.true(table.knockedOut('node-a'), 'refused under a second ago');
  table.spoke('node-a');
  t.false(table.knockedOut('node-a'));
  t.is(table.endpoints, 1);
  table.forget('node-a');
  t.is(table.endpoints, 0);
  t.is(table.knocks, 0);
});

test('an accepted knock clears it; one the member answered meanwhile reports nothing', async (t) => {
  const refused: string[] = [];
  const table = new KnockTable(16, (node) => refused.push(node));
  const open = await port(true);
  table.sentTo('node-a', endpoint(open.port));
  table.knock('node-a');
  await waitFor('accepted', () => table.knocks === 0);
  t.false(table.knockedOut('node-a'));
  open.close();
  const closed = await port(false);
  table.sentTo('node-b', endpoint(closed.port));
  table.knock('node-b');
  table.spoke('node-b');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(refused, [], 'it spoke before the refusal came');
  t.is(table.knocks, 0);
});

test('probe: up for a listener, refused (and reported) for a closed port, none without an address', async (t) => {
  const refused: string[] = [];
  const table = new KnockTable(16, (node) => refused.push(node));
  const open = await port(true);
  t.teardown(open.close);
  const closed = await port(false);
  table.sentTo('up', endpoint(open.port));
  table.sentTo('gone', endpoint(closed.port));
  // (A silent host, its deadline deciding, is the chaos link cut's: test/lab.)
  const answers: Record<string, string[]> = { up: [], gone: [], unknown: [] };
  for (const node of Object.keys(answers))
    table.probe(node, 50, (a) => {
      answers[node]?.push(a);
    });
  await waitFor('every answer', () => Object.values(answers).every((a) => a.length > 0), 5_000, 10);
  t.deepEqual(answers, { up: ['up'], gone: ['refused'], unknown: ['none'] });
  t.deepEqual(refused, ['gone']);
  t.true(table.knockedOut('gone'));
});

test('probe: a knock accepted by a stopped process is held, and its reset when the process dies is a refusal', async (t) => {
  // A listener in a child process, stopped (its kernel still accepts into the
  // queue, nothing accepts from it), then killed: its listener closes and the
  // queued knock is reset, as for a speaker killed while its kernel tears it down.
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('node:net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [
    string,
  ];
  child.kill('SIGSTOP');
  const refused: string[] = [];
  const table = new KnockTable(16, (node) => refused.push(node));
  table.sentTo('dying', endpoint(Number(line)));
  const answers: string[] = [];
  table.probe('dying', 50, (a) => {
    answers.push(a);
    if (a === 'up') child.kill('SIGKILL');
  });
  await waitFor('the second answer', () => answers.length === 2, 5_000, 10);
  t.deepEqual(answers, ['up', 'refused']);
  t.deepEqual(refused, ['dying']);
  t.true(table.knockedOut('dying'));
});
