import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const meshlb = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

test('meshlb version prints the package version', (t) => {
  const r = meshlb('version');
  t.is(r.status, 0);
  t.regex(r.stdout, /^meshlb \d+\.\d+\.\d+ \(node v\d+/);
});

test('an unknown command exits 2 and lists the commands', (t) => {
  const r = meshlb('frobnicate');
  t.is(r.status, 2);
  t.regex(r.stderr, /unknown command "frobnicate"/);
  t.regex(r.stderr, /lab\s+run the local lab/);
});

test('--help on a command prints its help; a bad flag exits 2 with the help', (t) => {
  t.regex(meshlb('lab', '--help').stdout, /usage: meshlb lab/);
  const bad = meshlb('lab', '--nodes', 'many');
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
  const unreachable = meshlb('status', '--speaker', 'http://127.0.0.1:9');
  t.is(unreachable.status, 1);
  t.regex(unreachable.stderr, /SpeakerUnreachableError: cannot reach the speaker .*port-forward/);
});
