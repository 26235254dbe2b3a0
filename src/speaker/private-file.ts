import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';

/**
 * Writes `data` to `file` (mode 0600) so that a reader, or the next start
 * after a crash, finds the old content or the new one, never a part: to a
 * temporary file beside it, flushed to disk, then renamed over it. The
 * temporary file is removed when anything fails; the error is thrown.
 */
export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = await open(tmp, 'wx', 0o600);
    try {
      await fd.writeFile(data);
      await fd.sync();
    } finally {
      await fd.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
