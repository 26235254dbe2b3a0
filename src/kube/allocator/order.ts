/**
 * The order the allocator settles things in: a Service's key, the order to
 * assign a set of Services in, and which of two is older.
 */
import { readIntent } from './request.ts';
import type { ServiceView } from './types.ts';

/** `namespace/name`, the key of a Service in the allocation table. */
export function serviceKey(svc: Pick<ServiceView, 'namespace' | 'name'>): string {
  return `${svc.namespace}/${svc.name}`;
}

/**
 * The order in which to assign a set of Services so that the outcome does not depend on
 * the order they came in (an informer's list is in name order): those requesting IPs
 * first, then the rest, each oldest first. Two Services that want the same IP: the
 * older gets it, as docs/allocation.md promises.
 */
export function assignmentOrder<T extends ServiceView>(services: readonly T[]): T[] {
  const requesting = new Set(
    services.filter((s) => {
      const read = readIntent(s);
      return read.ok && read.intent.requested !== null;
    }),
  );
  const rank = (s: T): number => (requesting.has(s) ? 0 : 1);
  return [...services].sort((a, b) => rank(a) - rank(b) || compareAge(a, b));
}

/** Older first: creationTimestamp, then uid, then key. The order in which conflicts are settled. */
export function compareAge(a: ServiceView, b: ServiceView): number {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp - b.creationTimestamp;
  if (a.uid !== b.uid) return a.uid < b.uid ? -1 : 1;
  const ka = serviceKey(a);
  const kb = serviceKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
