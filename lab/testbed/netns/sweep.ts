import { pidAlive } from '../cleanup.ts';
import { deleteNamespaceSync, listNamespaces } from './ip.ts';

/**
 * Deletes namespaces `<prefix>-<pid>-…` whose creating process is dead (a
 * SIGKILLed test worker cannot clean up after itself). Returns how many.
 */
export function sweepStale(prefix: string): number {
  const re = new RegExp(`^${prefix}-(\\d+)-`);
  let swept = 0;
  for (const ns of listNamespaces()) {
    const pid = Number(re.exec(ns)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !pidAlive(pid)) {
      deleteNamespaceSync(ns);
      swept++;
    }
  }
  return swept;
}
