import { chmod, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from 'pino';
import { writePrivateFile } from './private-file.ts';

/** The peer key's file name in the speaker's state directory (--state-dir). */
export const PEER_KEY_FILE = 'peer-key';

/**
 * Where the speaker's peer key came from: read from the file, created there
 * (first start on this node), created in place of an unreadable one, or
 * ephemeral (no file configured, or the file cannot be written: a new peer ID
 * that must be published through the API before peers accept it).
 */
export type PeerKeySource = 'file' | 'created' | 'replaced' | 'ephemeral';

/**
 * The speaker's libp2p identity, kept on the node (`--state-dir`, the
 * DaemonSet's hostPath /var/lib/meshlb/<node>) so that a speaker container restarted
 * by the kubelet (a crash, an OOM kill) comes back with the peer ID its Pod
 * already publishes: the other speakers accept it without a word from the API
 * server. A key file that cannot be used never stops the speaker: it logs why
 * and goes on with a new key, as every speaker did before the file existed.
 *
 * The file holds the key in libp2p's protobuf encoding, mode 0600, written
 * whole or not at all (writePrivateFile).
 * One speaker per node: two processes sharing the file would share a peer ID
 * (the DaemonSet's RollingUpdate has maxSurge 0, so they never overlap).
 */
export async function loadPeerKey(
  file: string | undefined,
  log: Logger,
): Promise<{ key: PrivateKey; source: PeerKeySource }> {
  if (file === undefined) return { key: await generateKeyPair('Ed25519'), source: 'ephemeral' };
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return create(file, 'created', log);
    log.warn({ err, file }, 'cannot read the peer key file: a new identity for this run only');
    return { key: await generateKeyPair('Ed25519'), source: 'ephemeral' };
  }
  let key: PrivateKey | undefined;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch {
    key = undefined;
  }
  if (key?.type !== 'Ed25519') {
    const aside = `${file}.unreadable-${Date.now()}`;
    await rename(file, aside).catch(() => undefined);
    log.warn({ file, keptAs: aside }, 'the peer key file holds no Ed25519 key: replacing it with a new one');
    return create(file, 'replaced', log);
  }
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    await chmod(file, 0o600).catch(() => undefined);
    log.warn({ file, mode: mode.toString(8) }, 'the peer key file was readable by others: made 0600');
  }
  return { key, source: 'file' };
}

async function create(
  file: string,
  source: 'created' | 'replaced',
  log: Logger,
): Promise<{ key: PrivateKey; source: PeerKeySource }> {
  const key = await generateKeyPair('Ed25519');
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writePrivateFile(file, privateKeyToProtobuf(key));
    return { key, source };
  } catch (err) {
    log.warn({ err, file }, 'cannot write the peer key file: a new identity for this run only');
    return { key, source: 'ephemeral' };
  }
}
