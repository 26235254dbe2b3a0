/**
 * The allocation table: which Service holds which IPs, who holds each address, the
 * index of Services by sharing key, and the lowest-free-address hints. Bookkeeping
 * only: the rules that change it are decide.ts's and the Allocator's.
 */
import { formatRange, type AddressRange, type Family } from '../../ip/index.ts';
import type { FailureReason } from './reasons.ts';

/** What another Service needs to know to share an IP with this one. */
export interface Profile {
  /** Scoped to the namespace unless cross-namespace sharing is on; null: shares with nobody. */
  sharingKey: string | null;
  trafficPolicy: 'Cluster' | 'Local';
  /** `PROTOCOL/port`. */
  ports: ReadonlySet<string>;
}

export interface Held {
  ip: string;
  family: Family;
  value: bigint;
}

export interface Entry {
  key: string;
  uid: string;
  created: number;
  profile: Profile;
  ips: Held[];
}

interface Address {
  family: Family;
  value: bigint;
  holders: Set<string>;
}

/** Lowest address of a range that may be free: every usable address below it is held. */
export interface Hint {
  family: Family;
  first: bigint;
  last: bigint;
  next: bigint;
}

export type Failure = { reason: FailureReason; message: string };

function compatible(a: Profile, b: Profile): boolean {
  if (a.sharingKey === null || a.sharingKey !== b.sharingKey) return false;
  if (a.trafficPolicy !== b.trafficPolicy) return false;
  for (const p of a.ports) if (b.ports.has(p)) return false;
  return true;
}

export const byValue = (a: Held, b: Held): number => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

export class AllocationTable {
  readonly #entries = new Map<string, Entry>();
  readonly #addresses = new Map<string, Address>();
  /** Scoped sharing key → Services that have it. */
  readonly #bySharingKey = new Map<string, Set<string>>();
  readonly #hints = new Map<string, Hint>();

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#addresses.clear();
    this.#bySharingKey.clear();
    this.#hints.clear();
  }

  entry(key: string): Entry | undefined {
    return this.#entries.get(key);
  }

  entries(): IterableIterator<Entry> {
    return this.#entries.values();
  }

  /** Adds an entry that holds nothing yet (give it its profile with `setProfile`). */
  add(entry: Entry): void {
    this.#entries.set(entry.key, entry);
  }

  /** The held addresses, each once however many Services share it. */
  addresses(): IterableIterator<{ family: Family; value: bigint }> {
    return this.#addresses.values();
  }

  /** Does any Service hold the IP (canonical text)? */
  isHeld(ip: string): boolean {
    return this.#addresses.has(ip);
  }

  /** The Services holding the IP (canonical text), unsorted. */
  holdersOf(ip: string): string[] {
    return [...(this.#addresses.get(ip)?.holders ?? [])];
  }

  /** The Services with this scoped sharing key. */
  sharers(sharingKey: string): Iterable<string> {
    return this.#bySharingKey.get(sharingKey) ?? [];
  }

  /** Why `key` may not hold `ip` with `profile` next to its other holders, or undefined. */
  conflictWith(ip: string, key: string, profile: Profile): Failure | undefined {
    const others = [...(this.#addresses.get(ip)?.holders ?? [])].filter((k) => k !== key).sort();
    const bad = others.filter((k) => {
      const e = this.#entries.get(k);
      return e !== undefined && !compatible(e.profile, profile);
    });
    if (bad.length === 0) return undefined;
    const sameKey = bad.every((k) => {
      const other = this.#entries.get(k)?.profile.sharingKey;
      return profile.sharingKey !== null && other === profile.sharingKey;
    });
    return sameKey
      ? {
          reason: 'IncompatibleSharing',
          message: `shared with ${bad.join(', ')} under the same key, but their ports overlap or externalTrafficPolicy differs`,
        }
      : {
          reason: 'RequestedIPInUse',
          message: `held by ${bad.join(', ')}, which does not share it with this Service`,
        };
  }

  setProfile(entry: Entry, profile: Profile): void {
    const old = entry.profile.sharingKey;
    if (old !== null && old !== profile.sharingKey) {
      const set = this.#bySharingKey.get(old);
      set?.delete(entry.key);
      if (set?.size === 0) this.#bySharingKey.delete(old);
    }
    entry.profile = profile;
    if (profile.sharingKey !== null) {
      let set = this.#bySharingKey.get(profile.sharingKey);
      if (set === undefined) {
        set = new Set();
        this.#bySharingKey.set(profile.sharingKey, set);
      }
      set.add(entry.key);
    }
  }

  hold(entry: Entry, h: Held): void {
    entry.ips.push(h);
    let a = this.#addresses.get(h.ip);
    if (a === undefined) {
      a = { family: h.family, value: h.value, holders: new Set() };
      this.#addresses.set(h.ip, a);
    }
    a.holders.add(entry.key);
  }

  /** Removes one IP from the entry; returns it (in a list, for spreading). */
  unhold(entry: Entry, ip: string): string[] {
    const i = entry.ips.findIndex((h) => h.ip === ip);
    if (i < 0) return [];
    const [h] = entry.ips.splice(i, 1) as [Held];
    const a = this.#addresses.get(ip);
    a?.holders.delete(entry.key);
    if (a?.holders.size === 0) {
      this.#addresses.delete(ip);
      // Free again: searches for the lowest free address must see it.
      for (const hint of this.#hints.values()) {
        if (hint.family === h.family && hint.first <= h.value && h.value < hint.next) hint.next = h.value;
      }
    }
    return [ip];
  }

  /** Removes an entry that holds nothing. */
  drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.setProfile(entry, { ...entry.profile, sharingKey: null });
    this.#entries.delete(key);
  }

  /** The range's hint (with or without avoiding buggy IPs), created at its first address. */
  hint(r: AddressRange, avoid: boolean): Hint {
    const id = `${formatRange(r)}/${avoid}`;
    let hint = this.#hints.get(id);
    if (hint === undefined) {
      hint = { family: r.family, first: r.first, last: r.last, next: r.first };
      this.#hints.set(id, hint);
    }
    return hint;
  }
}
