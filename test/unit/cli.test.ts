import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { freePort } from '../../lab/testbed/ports.ts';
import { writeMeshKey, writeUnreachableKubeconfig } from '../../lab/testbed/speakers/kube-speakers.ts';
import { waitFor } from '../helpers/wait.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const meshlb = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
/** The test lab's entry point: `meshlb lab` and `meshlb chaos` (the ./meshlb wrapper sends them there). */
const labMain = fileURLToPath(new URL('../../lab/cli/main.ts', import.meta.url));
const meshlbLab = (...args: string[]) =>
  spawnSync(process.execPath, [labMain, ...args], { encoding: 'utf8' });

test('meshlb version (and --version, -V) prints the package version', (t) => {
  for (const arg of ['version', '--version', '-V']) {
    const r = meshlb(arg);
    t.is(r.status, 0, arg);
    t.regex(r.stdout, /^meshlb \d+\.\d+\.\d+ \(node v\d+/, arg);
  }
});

test('an unknown command exits 2 and lists the commands', (t) => {
  const r = meshlb('frobnicate');
  t.is(r.status, 2);
  t.regex(r.stderr, /unknown command "frobnicate"/);
  t.regex(r.stderr, /speaker\s+run a speaker/);
  const l = meshlbLab('frobnicate');
  t.is(l.status, 2);
  t.regex(l.stderr, /unknown command "frobnicate"/);
  t.regex(l.stderr, /lab\s+run the local lab/);
});

test("--help lists the product's commands in src/cli/main.ts and lab and chaos in lab/cli/main.ts", (t) => {
  const product = meshlb('--help');
  t.is(product.status, 0);
  for (const cmd of ['speaker', 'controller', 'status', 'explain', 'migrate', 'version'])
    t.regex(product.stdout, new RegExp(`^  ${cmd} `, 'm'));
  t.notRegex(product.stdout, /^ {2}(lab|chaos) /m);
  t.is(meshlb('lab').status, 2, 'lab is not a product command');
  const lab = meshlbLab('--help');
  t.is(lab.status, 0);
  t.deepEqual(
    [...lab.stdout.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]),
    ['lab', 'chaos'],
  );
});

test('--help on a command prints its help; a bad flag exits 2 with the help', (t) => {
  t.regex(meshlbLab('lab', '--help').stdout, /usage: meshlb lab/);
  t.regex(meshlbLab('chaos', '--help').stdout, /usage: meshlb chaos/);
  const bad = meshlbLab('lab', '--nodes', 'many');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--nodes must be 2-8/);
});

test('speaker, status and explain: --help, and errors that say what to do', (t) => {
  for (const cmd of ['speaker', 'status', 'explain'])
    t.regex(meshlb(cmd, '--help').stdout, new RegExp(`usage: meshlb ${cmd}`));
  const noNode = spawnSync(process.execPath, [main, 'speaker'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_NAME: '', MESHLB_NODE_NAME: '', MESHLB_CONFIG: '/dev/null' },
  });
  t.is(noNode.status, 2);
  t.regex(noNode.stderr, /the node name is not set: pass --node-name or set NODE_NAME from the downward API/);
  const badTarget = meshlb('explain', 'web');
  t.is(badTarget.status, 2);
  t.regex(badTarget.stderr, /name one Service as <namespace>\/<name>/);
  // A bad config file is not a usage error: one line naming the file, exit 1, no usage text.
  const badConfig = spawnSync(process.execPath, [main, 'speaker', '--config', '/nonexistent/config.yaml'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_NAME: 'n1', POD_NAME: 'p1', POD_IP: '192.0.2.1' },
  });
  t.is(badConfig.status, 1);
  t.regex(
    badConfig.stderr,
    /^meshlb speaker: ConfigFileError: cannot read the config file \/nonexistent\/config\.yaml/,
  );
  t.notRegex(badConfig.stderr, /usage:/);
  t.is(badConfig.stderr.trim().split('\n').length, 1);
  const unreachable = meshlb('status', '--speaker', 'http://127.0.0.1:9');
  t.is(unreachable.status, 1);
  t.regex(unreachable.stderr, /SpeakerUnreachableError: cannot reach the speaker .*port-forward/);
});

/** A speaker's files (mesh key, a kubeconfig for an API server that is not there) and two ports held by another process. */
async function taken(): Promise<{
  dir: string;
  key: string;
  kubeconfig: string;
  ports: number[];
  close: () => void;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-cli-'));
  const key = writeMeshKey(dir);
  const kubeconfig = writeUnreachableKubeconfig(dir);
  const servers = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => {
            resolve(s);
          });
        }),
    ),
  );
  return {
    dir,
    key,
    kubeconfig,
    ports: servers.map((s) => (s.address() as AddressInfo).port),
    close: () => {
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const speakerArgs = (f: { key: string; kubeconfig: string }, meshPort: number, metricsPort: number) => [
  main,
  'speaker',
  '--node-name=n1',
  '--pod-name=p1',
  '--mesh-address=127.0.0.1',
  `--mesh-port=${String(meshPort)}`,
  `--mesh-key-file=${f.key}`,
  `--kubeconfig=${f.kubeconfig}`,
  `--metrics-addr=127.0.0.1:${String(metricsPort)}`,
  // The same address for the probes and debug bodies: one server serves all.
  `--health-addr=127.0.0.1:${String(metricsPort)}`,
  '--interfaces=lo',
  '--log-level=silent',
];

test('a speaker told to answer on an interface that does not exist exits 1 naming it, unless told to wait', async (t) => {
  const f = await taken();
  t.teardown(f.close);
  const args = speakerArgs(f, await freePort(), await freePort()).map((a) =>
    a === '--interfaces=lo' ? '--interfaces=nosuch0' : a,
  );
  const r = await spawnAsync(args);
  t.is(r.code, 1);
  t.regex(
    r.stderr,
    /InterfaceNotFoundError: interface nosuch0 \(--interfaces\) does not exist.*--wait-for-interfaces/,
  );
  t.notRegex(r.stderr, /usage:/);
  // With --wait-for-interfaces it starts (and waits): alive until told to stop.
  const metrics = await freePort();
  const waiting = spawn(
    process.execPath,
    [
      ...speakerArgs(f, await freePort(), metrics).map((a) =>
        a === '--interfaces=lo' ? '--interfaces=nosuch0' : a,
      ),
      '--wait-for-interfaces',
    ],
    { stdio: 'ignore' },
  );
  t.teardown(() => waiting.kill('SIGKILL'));
  const alive = await waitFor(
    'the endpoints to answer',
    async () => (await fetch(`http://127.0.0.1:${String(metrics)}/healthz`).catch(() => undefined))?.status,
    10_000,
  );
  t.is(alive, 200);
});

test('a speaker whose metrics port is taken exits 1 at once, before it opens anything else', async (t) => {
  const f = await taken();
  t.teardown(f.close);
  const [busy] = f.ports as [number, number];
  const r = await spawnAsync(speakerArgs(f, await freePort(), busy));
  t.is(r.code, 1, 'exits, not left running');
  t.regex(r.stderr, /EADDRINUSE|in use/);
});

const root = process.getuid?.() === 0;
(root ? test : test.skip)(
  'a speaker that fails half-way through its start (mesh port taken) closes what it opened and exits 1',
  async (t) => {
    const f = await taken();
    t.teardown(f.close);
    const [busy] = f.ports as [number, number];
    const r = await spawnAsync(speakerArgs(f, busy, await freePort()));
    t.is(r.code, 1, 'exits, not left running with its packet sockets and endpoints open');
    t.regex(r.stderr, /EADDRINUSE|in use/);
  },
);

/** Runs node with args; resolves with the exit code and stderr, or null if it ran past 20 s (killed). */
function spawnAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

(root ? test : test.skip)(
  'a speaker that cannot reach the API server is alive but not ready, and says why; SIGTERM stops it',
  async (t) => {
    const f = await taken();
    t.teardown(f.close);
    const metrics = await freePort();
    const child = spawn(process.execPath, speakerArgs(f, await freePort(), metrics), { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.teardown(() => child.kill('SIGKILL'));
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${String(metrics)}${path}`);
      return { status: r.status, body: await r.text() };
    };
    const ready = await waitFor(
      'the endpoints to answer',
      () => get('/readyz').catch(() => undefined),
      10_000,
    );
    t.is(ready.status, 503);
    t.regex(ready.body, /caches not synced/);
    t.regex(ready.body, /mesh not synced/);
    t.is((await get('/healthz')).status, 200);
    child.kill('SIGTERM');
    t.is(await exited, 0);
  },
);
