import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { parseDocuments } from '../../src/migrate/index.ts';

const test = anyTest as TestFn<{ dir: string }>;
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const meshlb = (args: string[], input?: string) =>
  spawnSync(process.execPath, [main, 'migrate', ...args], { encoding: 'utf8', input });

const POOLS = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: public, namespace: metallb-system, labels: {exposure: public}}
spec:
  addresses: [198.51.100.7/24, "203.0.113.10 - 203.0.113.20"]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: everything, namespace: metallb-system}
`;
const BGP = `---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor, namespace: metallb-system}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 10.0.0.1}
`;

test.before((t) => {
  t.context.dir = mkdtempSync(join(tmpdir(), 'meshlb-migrate-'));
});
test.after.always((t) => {
  rmSync(t.context.dir, { recursive: true, force: true });
});

test('migrate -f FILE: meshlb YAML on stdout, the report on stderr, exit 0 with warnings', (t) => {
  const file = join(t.context.dir, 'ok.yaml');
  writeFileSync(file, POOLS);
  const r = meshlb(['-f', file]);
  t.is(r.status, 0, r.stderr);
  const docs = parseDocuments(r.stdout).docs as { kind: string; spec: Record<string, unknown> }[];
  t.deepEqual(
    docs.map((d) => d.kind),
    ['IPPool', 'L2Advertisement'],
  );
  t.deepEqual(docs[0]?.spec.addresses, ['198.51.100.0/24', '203.0.113.10-203.0.113.20']);
  t.deepEqual(docs[1]?.spec.ipPoolSelectors, [{}]);
  const lines = r.stderr.trim().split('\n');
  t.true(lines.every((l) => l.startsWith('migrate: ')));
  t.true(
    lines.includes(
      'migrate: IPAddressPool/public: warning: addresses[1]: "203.0.113.10 - 203.0.113.20": spaces around "-" removed: 203.0.113.10-203.0.113.20',
    ),
  );
  t.regex(r.stderr, /^migrate: L2Advertisement\/everything: note: .*ipPoolSelectors: \[\{\}\]/m);
  t.regex(r.stderr, /^migrate: Service\/\*: note: Services need no change/m);
  t.regex(r.stderr, /^migrate: 2 objects written, 0 errors, 2 warnings$/m);
});

test('an object that cannot be converted: exit 1, the others still written; stdin and -o', (t) => {
  const out = join(t.context.dir, 'out.yaml');
  const r = meshlb(['-o', out], POOLS + BGP);
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^migrate: BGPPeer\/tor: error: not carried over: meshlb has no BGP mode/m);
  t.is(parseDocuments(readFileSync(out, 'utf8')).docs.length, 2);
});

test('several -f files are read in order; a file that is not YAML is reported with its line', (t) => {
  const a = join(t.context.dir, 'a.yaml');
  const b = join(t.context.dir, 'b.yaml');
  writeFileSync(a, POOLS);
  writeFileSync(b, 'kind: [\n');
  const r = meshlb(['-f', a, '--filename', b]);
  t.is(r.status, 1);
  t.regex(r.stderr, new RegExp(`^migrate: ${b.replaceAll('/', '\\/')}:1: error: not YAML: `, 'm'));
  t.is(parseDocuments(r.stdout).docs.length, 2);
});

test('usage errors exit 2 with the help; --help exits 0', (t) => {
  const positional = meshlb(['pools.yaml']);
  t.is(positional.status, 2);
  t.regex(positional.stderr, /usage: meshlb migrate/);
  t.is(meshlb(['--bogus']).status, 2);
  const help = meshlb(['--help']);
  t.is(help.status, 0);
  t.regex(help.stdout, /usage: meshlb migrate \[-f FILE \.\.\.\] \[-o FILE\]/);
});
