import type { IPAnnouncement } from '../api/index.ts';

/** The Service an announcement object belongs to (and is named like). */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  /** The Service's uid: the object's ownerReference, and the identity of this incarnation. */
  readonly uid: string;
}

/** One address this node announces. */
export interface AnnouncementEntry {
  readonly ip: string;
  readonly node: string;
  readonly interfaces: readonly string[];
  readonly epoch: number;
  /** When this node started announcing the address: a Date, or RFC 3339 text. */
  readonly since: Date | string;
}

/** What this node announces for one Service: its entries (none = withdraw everything). */
export interface DesiredAnnouncement {
  readonly service: ServiceRef;
  readonly entries: readonly AnnouncementEntry[];
}

/**
 * Why a write is due, in priority order: `announce` (an address this node did not
 * announce, or a takeover: a new epoch or node), `withdraw` (an address it no longer
 * announces), `update` (the same claim, other interfaces or `since`).
 */
export type WriteKind = 'announce' | 'withdraw' | 'update';

export const KIND_PRIORITY: Readonly<Record<WriteKind, number>> = { announce: 0, withdraw: 1, update: 2 };

/** `namespace/name`. */
export function serviceKey(s: Pick<ServiceRef, 'namespace' | 'name'>): string {
  return `${s.namespace}/${s.name}`;
}

/** The entries as written: sorted by address, interfaces sorted, `since` as RFC 3339 text. */
export function normalise(entries: readonly AnnouncementEntry[]): IPAnnouncement[] {
  return entries
    .map((e) => ({
      ip: e.ip,
      node: e.node,
      interfaces: [...new Set(e.interfaces)].sort(),
      epoch: e.epoch,
      since: new Date(e.since).toISOString(),
    }))
    .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

const same = (a: IPAnnouncement, b: IPAnnouncement): boolean =>
  a.node === b.node &&
  a.epoch === b.epoch &&
  a.since === b.since &&
  JSON.stringify(a.interfaces ?? []) === JSON.stringify(b.interfaces ?? []);

/**
 * What writing `desired` over `written` (both normalised) would be, or undefined when
 * nothing changed. `written` undefined means nothing is known to be written: then
 * only a non-empty `desired` needs a write.
 */
export function classify(
  desired: readonly IPAnnouncement[],
  written: readonly IPAnnouncement[] | undefined,
): WriteKind | undefined {
  const before = new Map((written ?? []).map((e) => [e.ip, e]));
  const after = new Map(desired.map((e) => [e.ip, e]));
  let kind: WriteKind | undefined;
  for (const [ip, e] of after) {
    const w = before.get(ip);
    if (w === undefined || w.node !== e.node || w.epoch !== e.epoch) return 'announce';
    if (!same(w, e)) kind = 'update';
  }
  for (const ip of before.keys()) if (!after.has(ip)) return 'withdraw';
  return kind;
}
