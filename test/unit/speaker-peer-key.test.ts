// The speaker's peer key on the node (src/speaker/peer-key.ts): created once
// (0600, in a directory it makes), the same key on every later start, an
// unreadable file set aside and replaced, and a file that cannot be written
// never stops the speaker.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadPeerKey } from '../../src/speaker/index.ts';
import { capturingLog } from '../helpers/log.ts';

function tmp(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-peer-key-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const peerId = (k: Awaited<ReturnType<typeof loadPeerKey>>): string => peerIdFromPrivateKey(k.key).toString();

test('created on the first start (0600, its directory made), the same identity on every later start', async (t) => {
  const { log, lines } = capturingLog();
  const file = join(tmp(t), 'var', 'lib', 'meshlb', 'peer-key');
  const first = await loadPeerKey(file, log);
  t.is(first.source, 'created');
  t.is(statSync(file).mode & 0o777, 0o600);
  const again = await loadPeerKey(file, log);
  t.is(again.source, 'file');
  t.is(peerId(again), peerId(first));
  t.is(first.key.type, 'Ed25519');
  t.deepEqual(lines, [], 'nothing to warn about');
  t.deepEqual(
    readdirSync(join(file, '..')).filter((f) => f.includes('.tmp-')),
    [],
    'no temporary file left',
  );
});

test('no file configured: a new identity at every start', async (t) => {
  const { log } = capturingLog();
  const a = await loadPeerKey(undefined, log);
  const b = await loadPeerKey(undefined, log);
  t.is(a.source, 'ephemeral');
  t.not(peerId(a), peerId(b));
});

test('a file that holds no key is set aside and replaced, with a warning', async (t) => {
  const { log, lines } = capturingLog();
  const dir = tmp(t);
  const file = join(dir, 'peer-key');
  writeFileSync(file, 'not a key', { mode: 0o600 });
  const k = await loadPeerKey(file, log);
  t.is(k.source, 'replaced');
  t.is((await loadPeerKey(file, log)).source, 'file');
  t.is(peerId(await loadPeerKey(file, log)), peerId(k));
  t.true(
    readdirSync(dir).some((f) => f.startsWith('peer-key.unreadable-')),
    'the old file kept for a look',
  );
  t.true(lines.some((l) => l.msg === 'the peer key file holds no Ed25519 key: replacing it with a new one'));
});

test('a key readable by others is made 0600, with a warning', async (t) => {
  const { log, lines } = capturingLog();
  const file = join(tmp(t), 'peer-key');
  const k = await loadPeerKey(file, log);
  chmodSync(file, 0o644);
  t.is(peerId(await loadPeerKey(file, log)), peerId(k));
  t.is(statSync(file).mode & 0o777, 0o600);
  t.true(
    lines.some((l) => l.msg === 'the peer key file was readable by others: made 0600' && l.mode === '644'),
  );
});

test('a place that cannot be written or read never stops the speaker: a key for this run, and why', async (t) => {
  const { log, lines } = capturingLog();
  const dir = tmp(t);
  // A place where no file can be made, even by root (procfs): as a read-only mount.
  const unwritable = await loadPeerKey('/proc/self/meshlb-peer-key', log);
  t.is(unwritable.source, 'ephemeral');
  t.true(lines.some((l) => l.msg === 'cannot write the peer key file: a new identity for this run only'));
  // A directory where the file should be: it cannot be read.
  const unreadable = await loadPeerKey(dir, log);
  t.is(unreadable.source, 'ephemeral');
  t.true(lines.some((l) => l.msg === 'cannot read the peer key file: a new identity for this run only'));
  t.false(existsSync('/proc/self/meshlb-peer-key'));
});
