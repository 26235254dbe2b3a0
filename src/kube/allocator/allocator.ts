import { formatIp, formatRange, parseIp, type AddressRange, type Family } from '../../ip/index.ts';
import { isBuggyIp } from './ip.ts';
import { admits, hasFamily, preparePools, usable, usableCount, type Pool } from './pools.ts';
import type { FailureReason, IgnoredReason } from './reasons.ts';
import { assignmentOrder, compareAge, serviceKey } from './order.ts';
import { familyName, readIntent, sharingKeyOf, type Intent, type RequestedIp } from './request.ts';
import type {
  AllocatorConfig,
  Assignment,
  Decision,
  PoolCounts,
  PoolView,
  RestoreReport,
  ServiceView,
} from './types.ts';

/** What another Service needs to know to share an IP with this one. */
interface Profile {
  /** Scoped to the namespace unless cross-namespace sharing is on; null: shares with nobody. */
  sharingKey: string | null;
  trafficPolicy: 'Cluster' | 'Local';
  /** `PROTOCOL/port`. */
  ports: ReadonlySet<string>;
}

interface Held {
  ip: string;
  family: Family;
  value: bigint;
}

interface Entry {
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
interface Hint {
  family: Family;
  first: bigint;
  last: bigint;
  next: bigint;
}

type MutableReport = {
  -readonly [K in keyof RestoreReport]: RestoreReport[K] extends readonly (infer T)[]
    ? T[]
    : RestoreReport[K];
};

type Failure = { reason: FailureReason; message: string };

function compatible(a: Profile, b: Profile): boolean {
  if (a.sharingKey === null || a.sharingKey !== b.sharingKey) return false;
  if (a.trafficPolicy !== b.trafficPolicy) return false;
  for (const p of a.ports) if (b.ports.has(p)) return false;
  return true;
}

const byValue = (a: Held, b: Held): number => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

/**
 * The allocation table and the rules that change it (docs/allocation.md). Pure: no
 * I/O, no clock; the controller feeds it Services and pools and writes what it decides.
 *
 * @example
 * const allocator = new Allocator({ pools });
 * allocator.restore(services);            // before anything else, after every (re)start
 * const d = allocator.assign(service);    // on every Service change
 * if (d.kind === 'assigned' && !d.unchanged) writeStatus(service, d.ips);
 * allocator.release('ns/name');           // on delete
 */
export class Allocator {
  readonly #class: string | undefined;
  readonly #crossNamespace: boolean;
  #pools: Pool[] = [];
  readonly #entries = new Map<string, Entry>();
  readonly #addresses = new Map<string, Address>();
  /** Scoped sharing key → Services that have it. */
  readonly #bySharingKey = new Map<string, Set<string>>();
  readonly #hints = new Map<string, Hint>();

  constructor(init: AllocatorConfig & { pools: readonly PoolView[] }) {
    this.#class = init.loadBalancerClass;
    this.#crossNamespace = init.crossNamespaceSharing ?? false;
    this.setPools(init.pools);
  }

  /** Replaces the pools (pass the accepted ones: `partitionPools`). Moves nothing. */
  setPools(pools: readonly PoolView[]): void {
    this.#pools = preparePools(pools);
  }

  /** Why this allocator leaves the Service alone, or undefined when it serves it. */
  ignores(svc: ServiceView): IgnoredReason | undefined {
    if (svc.type !== 'LoadBalancer') return 'NotLoadBalancer';
    if (svc.loadBalancerClass !== this.#class) return 'OtherClass';
    return undefined;
  }

  /**
   * Rebuilds the table from the Services' current statuses, replacing it. Call it with
   * every Service before the first `assign` so a restart never moves an IP. Older
   * Services are restored first; a status IP that an older Service holds without a
   * compatible sharing key is a conflict and is not restored (the younger Service gets
   * another IP on its `assign`). IPs outside every pool are restored and reported.
   */
  restore(services: readonly ServiceView[]): RestoreReport {
    this.#entries.clear();
    this.#addresses.clear();
    this.#bySharingKey.clear();
    this.#hints.clear();
    const report: MutableReport = { restored: 0, outsidePool: [], conflicts: [], invalid: [] };
    for (const svc of services.filter((s) => this.ignores(s) === undefined).sort(compareAge)) {
      if (this.#entries.has(serviceKey(svc))) continue;
      const entry = this.#adopt(svc, report);
      if (entry.ips.length > 0) report.restored++;
      else this.#drop(entry.key);
    }
    return report;
  }

  /** Decides the Service's IPs and records them. See docs/allocation.md for the rules. */
  assign(svc: ServiceView): Decision {
    const key = serviceKey(svc);
    const ignored = this.ignores(svc);
    if (ignored !== undefined) return { kind: 'ignored', reason: ignored, released: this.release(key) };

    const released: string[] = [];
    let entry = this.#entries.get(key);
    if (entry !== undefined && entry.uid !== svc.uid) {
      // Deleted and created again under the same name: a new Service.
      released.push(...this.release(key));
      entry = undefined;
    }
    if (entry === undefined) {
      entry = this.#adopt(svc, undefined);
    } else {
      this.#setProfile(entry, this.#profileOf(svc));
      entry.created = svc.creationTimestamp;
    }
    // An IP whose sharing this Service broke (its key, ports or policy changed): the
    // Service that changed moves; the others keep the IP.
    for (const h of [...entry.ips]) {
      if (this.#conflictWith(h.ip, entry.key, entry.profile) !== undefined)
        released.push(...this.#unhold(entry, h.ip));
    }
    const decision = this.#decide(svc, entry, released);
    if (entry.ips.length === 0) this.#drop(entry.key);
    return decision;
  }

  /**
   * Assigns every Service in assignmentOrder, so the result does not depend on the
   * order of `services`, and when two new Services want the same IP the older one gets it.
   */
  assignAll(services: readonly ServiceView[]): Map<string, Decision> {
    const out = new Map<string, Decision>();
    for (const svc of assignmentOrder(services)) out.set(serviceKey(svc), this.assign(svc));
    return out;
  }

  /** Forgets the Service's IPs (deleted, or no longer ours); they are free for others at once. Returns them. */
  release(key: string): string[] {
    const entry = this.#entries.get(key);
    if (entry === undefined) return [];
    const out: string[] = [];
    for (const h of [...entry.ips]) out.push(...this.#unhold(entry, h.ip));
    this.#drop(key);
    return out;
  }

  /** The Services holding an IP (more than one when shared). */
  holdersOf(ip: string): string[] {
    const p = parseIp(ip);
    if (p === undefined) return [];
    return [...(this.#addresses.get(formatIp(p.family, p.value))?.holders ?? [])].sort();
  }

  /** The IPs a Service holds. */
  ipsOf(key: string): string[] {
    return (this.#entries.get(key)?.ips ?? []).map((h) => h.ip);
  }

  /** Every Service that holds an IP, and its IPs, sorted by key. */
  table(): { service: string; ips: string[] }[] {
    return [...this.#entries.values()]
      .filter((e) => e.ips.length > 0)
      .map((e) => ({ service: e.key, ips: e.ips.map((h) => h.ip) }))
      .sort((a, b) => (a.service < b.service ? -1 : 1));
  }

  /** Assigned and available usable addresses per pool and family (pools in preference order). */
  counts(): PoolCounts[] {
    return this.#pools.map((pool) => {
      const assigned = { 4: 0n, 6: 0n };
      for (const a of this.#addresses.values()) if (usable(pool, a.family, a.value)) assigned[a.family]++;
      const fam = (f: Family): { assigned: bigint; available: bigint } => ({
        assigned: assigned[f],
        available: usableCount(pool, f) - assigned[f],
      });
      return { pool: pool.view.name, ipv4: fam(4), ipv6: fam(6) };
    });
  }

  // ---- decisions ----

  #decide(svc: ServiceView, entry: Entry, released: string[]): Decision {
    const fail = (f: Failure): Decision => ({
      kind: 'failed',
      reason: f.reason,
      message: f.message,
      kept: entry.ips.map((h) => h.ip),
      released,
    });
    const read = readIntent(svc);
    if (!read.ok) return fail({ reason: 'InvalidRequest', message: read.message });
    const intent = read.intent;

    let named: Pool | undefined;
    if (intent.pool !== null) {
      named = this.#pools.find((p) => p.view.name === intent.pool);
      if (named === undefined)
        return fail({ reason: 'PoolNotFound', message: `pool ${intent.pool} does not exist` });
      if (!admits(named.view, svc)) {
        return fail({ reason: 'PoolNotAllowed', message: `pool ${intent.pool} does not admit ${entry.key}` });
      }
    }

    const result =
      intent.requested !== null
        ? this.#requested(svc, entry, intent.requested.ips, named)
        : this.#automatic(svc, entry, intent, named);
    if ('reason' in result) return fail(result);

    // Commit: drop what is no longer wanted, hold what is new.
    const want = new Set(result.ips.map((h) => h.ip));
    for (const h of [...entry.ips]) if (!want.has(h.ip)) released.push(...this.#unhold(entry, h.ip));
    for (const h of result.ips) if (!entry.ips.some((e) => e.ip === h.ip)) this.#hold(entry, h);
    return this.#assigned(svc, entry, intent, released);
  }

  /** Exactly the requested IPs, each usable in an admitting pool (or already held) and free to share. */
  #requested(
    svc: ServiceView,
    entry: Entry,
    ips: readonly RequestedIp[],
    named: Pool | undefined,
  ): { ips: Held[] } | Failure {
    for (const ip of ips) {
      if (entry.ips.some((h) => h.ip === ip.text)) continue; // held already: kept even outside the pools
      const inPools = this.#pools.filter((p) => usable(p, ip.family, ip.value));
      if (named !== undefined) {
        if (!inPools.includes(named)) {
          return {
            reason: 'RequestedIPOutsidePools',
            message: `${ip.text} is not a usable address of the requested pool ${named.view.name}`,
          };
        }
      } else if (inPools.length === 0) {
        const buggy = isBuggyIp(ip.family, ip.value) && this.#pools.some((p) => this.#inRanges(p, ip));
        return {
          reason: 'RequestedIPOutsidePools',
          message: buggy
            ? `${ip.text} ends in .0 or .255 and its pool avoids those (avoidBuggyIPs)`
            : `${ip.text} is not in any pool`,
        };
      } else if (!inPools.some((p) => admits(p.view, svc))) {
        return {
          reason: 'PoolNotAllowed',
          message: `${ip.text} is in pool ${inPools.map((p) => p.view.name).join(', ')}, which does not admit ${entry.key}`,
        };
      }
      const conflict = this.#conflictWith(ip.text, entry.key, entry.profile);
      if (conflict !== undefined)
        return { reason: conflict.reason, message: `${ip.text}: ${conflict.message}` };
    }
    return { ips: ips.map((ip) => ({ ip: ip.text, family: ip.family, value: ip.value })) };
  }

  /** Keep what still fits, complete a partial dual-stack from the same pool, else allocate afresh. */
  #automatic(
    svc: ServiceView,
    entry: Entry,
    intent: Intent,
    named: Pool | undefined,
  ): { ips: Held[] } | Failure {
    const candidates =
      named !== undefined ? [named] : this.#pools.filter((p) => p.view.autoAssign && admits(p.view, svc));
    const keep = entry.ips.filter(
      (h) =>
        intent.families.includes(h.family) &&
        (named === undefined || usable(named, h.family, h.value) || this.#poolOf(h) === null),
    );
    if (keep.length > 0) {
      const ips = [...keep];
      const home = this.#poolOf(keep[0] as Held);
      const homePool = candidates.find((p) => p.view.name === home);
      for (const f of intent.families) {
        if (ips.some((h) => h.family === f) || homePool === undefined) continue;
        const pick = this.#pick(homePool, f, entry);
        if (pick !== undefined) ips.push(pick);
      }
      if (ips.length === intent.families.length || intent.policy !== 'RequireDualStack') return { ips };
    }
    return this.#fresh(entry, intent, candidates, named !== undefined);
  }

  #fresh(
    entry: Entry,
    intent: Intent,
    candidates: readonly Pool[],
    named: boolean,
  ): { ips: Held[] } | Failure {
    if (candidates.length === 0) {
      return {
        reason: 'NoMatchingPool',
        message: `no pool admits ${entry.key} and assigns addresses automatically`,
      };
    }
    const families = intent.families;
    for (const pool of candidates) {
      const picks = families.map((f) => this.#pick(pool, f, entry));
      if (picks.every((p) => p !== undefined)) return { ips: picks };
    }
    if (families.length === 2 && intent.policy === 'PreferDualStack') {
      for (const f of families) {
        for (const pool of candidates) {
          const pick = this.#pick(pool, f, entry);
          if (pick !== undefined) return { ips: [pick] };
        }
      }
    }
    const names = families.map(familyName).join(' and ');
    const where = named ? `pool ${candidates[0]?.view.name ?? ''}` : 'any admitting pool';
    if (intent.policy === 'RequireDualStack' && families.length === 2) {
      if (!candidates.some((p) => families.every((f) => hasFamily(p, f)))) {
        return { reason: 'DualStackUnavailable', message: `${where} lacks addresses of both IPv4 and IPv6` };
      }
      return { reason: 'PoolExhausted', message: `no free IPv4 and IPv6 pair in ${where}` };
    }
    if (!candidates.some((p) => families.some((f) => hasFamily(p, f)))) {
      return { reason: 'NoMatchingPool', message: `${where} has no ${names} addresses` };
    }
    return { reason: 'PoolExhausted', message: `no free ${names} address in ${where}` };
  }

  #assigned(svc: ServiceView, entry: Entry, intent: Intent, released: string[]): Decision {
    const order = (h: Held): number => intent.families.indexOf(h.family);
    let ips = [...entry.ips].sort((a, b) => order(a) - order(b) || byValue(a, b)).map((h) => h.ip);
    const current = svc.currentIPs.map((t) => {
      const p = parseIp(t);
      return p === undefined ? undefined : formatIp(p.family, p.value);
    });
    const unchanged =
      current.length === ips.length &&
      current.every((c) => c !== undefined && ips.includes(c)) &&
      new Set(current).size === current.length;
    if (unchanged) ips = current as string[];
    const assignments: Assignment[] = ips.map((ip) => {
      const h = entry.ips.find((e) => e.ip === ip) as Held;
      return { ip, family: h.family, pool: this.#poolOf(h) };
    });
    const missingFamilies = intent.families
      .filter((f) => !entry.ips.some((h) => h.family === f))
      .map((f) => familyName(f));
    return {
      kind: 'assigned',
      ips,
      pool: assignments.find((a) => a.pool !== null)?.pool ?? null,
      assignments,
      unchanged,
      outsidePool: assignments.filter((a) => a.pool === null).map((a) => a.ip),
      missingFamilies,
      released,
    };
  }

  // ---- picking addresses ----

  /** An address of `family` in `pool` for the entry: one it can share (lowest), else the lowest free one. */
  #pick(pool: Pool, family: Family, entry: Entry): Held | undefined {
    const key = entry.profile.sharingKey;
    if (key !== null) {
      let best: Held | undefined;
      for (const other of this.#bySharingKey.get(key) ?? []) {
        if (other === entry.key) continue;
        for (const h of this.#entries.get(other)?.ips ?? []) {
          if (h.family !== family || !usable(pool, h.family, h.value)) continue;
          if (entry.ips.some((e) => e.ip === h.ip)) continue;
          if (best !== undefined && byValue(h, best) >= 0) continue;
          if (this.#conflictWith(h.ip, entry.key, entry.profile) === undefined) best = h;
        }
      }
      if (best !== undefined) return best;
    }
    return this.#lowestFree(pool, family);
  }

  #lowestFree(pool: Pool, family: Family): Held | undefined {
    const avoid = pool.view.avoidBuggyIPs;
    for (const r of pool.ranges) {
      if (r.family !== family) continue;
      const hint = this.#hint(r, avoid);
      let x = hint.next;
      while (x <= r.last) {
        if (!(avoid && isBuggyIp(family, x))) {
          const ip = formatIp(family, x);
          if (!this.#addresses.has(ip)) {
            hint.next = x;
            return { ip, family, value: x };
          }
        }
        x++;
      }
      hint.next = x;
    }
    return undefined;
  }

  #hint(r: AddressRange, avoid: boolean): Hint {
    const id = `${formatRange(r)}/${avoid}`;
    let hint = this.#hints.get(id);
    if (hint === undefined) {
      hint = { family: r.family, first: r.first, last: r.last, next: r.first };
      this.#hints.set(id, hint);
    }
    return hint;
  }

  // ---- the table ----

  #profileOf(svc: ServiceView): Profile {
    const raw = sharingKeyOf(svc);
    return {
      sharingKey: raw === null ? null : this.#crossNamespace ? raw : `${svc.namespace}/${raw}`,
      trafficPolicy: svc.externalTrafficPolicy,
      ports: new Set(svc.ports.map((p) => `${p.protocol.toUpperCase()}/${p.port}`)),
    };
  }

  /** Why `key` may not hold `ip` with `profile` next to its other holders, or undefined. */
  #conflictWith(ip: string, key: string, profile: Profile): Failure | undefined {
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

  /** Creates the entry and holds the status IPs that are valid and not held incompatibly by someone else. */
  #adopt(svc: ServiceView, report: MutableReport | undefined): Entry {
    const entry: Entry = {
      key: serviceKey(svc),
      uid: svc.uid,
      created: svc.creationTimestamp,
      profile: { sharingKey: null, trafficPolicy: svc.externalTrafficPolicy, ports: new Set() },
      ips: [],
    };
    this.#entries.set(entry.key, entry);
    this.#setProfile(entry, this.#profileOf(svc));
    for (const text of svc.currentIPs) {
      const p = parseIp(text);
      if (p === undefined || entry.ips.some((h) => h.family === p.family)) {
        report?.invalid.push({ service: entry.key, ip: text });
        continue;
      }
      const ip = formatIp(p.family, p.value);
      if (this.#conflictWith(ip, entry.key, entry.profile) !== undefined) {
        report?.conflicts.push({ service: entry.key, ip, heldBy: this.holdersOf(ip) });
        continue;
      }
      const held = { ip, family: p.family, value: p.value };
      this.#hold(entry, held);
      if (this.#poolOf(held) === null) report?.outsidePool.push({ service: entry.key, ip });
    }
    return entry;
  }

  #setProfile(entry: Entry, profile: Profile): void {
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

  #hold(entry: Entry, h: Held): void {
    entry.ips.push(h);
    let a = this.#addresses.get(h.ip);
    if (a === undefined) {
      a = { family: h.family, value: h.value, holders: new Set() };
      this.#addresses.set(h.ip, a);
    }
    a.holders.add(entry.key);
  }

  /** Removes one IP from the entry; returns it (in a list, for spreading). */
  #unhold(entry: Entry, ip: string): string[] {
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
  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#setProfile(entry, { ...entry.profile, sharingKey: null });
    this.#entries.delete(key);
  }

  /** The most preferred pool whose usable addresses contain the IP; null when none does. */
  #poolOf(h: { family: Family; value: bigint }): string | null {
    return this.#pools.find((p) => usable(p, h.family, h.value))?.view.name ?? null;
  }

  #inRanges(pool: Pool, ip: { family: Family; value: bigint }): boolean {
    return pool.ranges.some((r) => r.family === ip.family && r.first <= ip.value && ip.value <= r.last);
  }
}
