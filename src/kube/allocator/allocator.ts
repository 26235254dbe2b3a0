/**
 * The Allocator: the controller's allocation table behind one small surface (restore,
 * assign, release, and what is held). The decisions are decide.ts's, the bookkeeping
 * table.ts's, picking addresses pick.ts's.
 */
import { formatIp, parseIp, type Family } from '../../ip/index.ts';
import { decide } from './decide.ts';
import { assignmentOrder, compareAge, serviceKey } from './order.ts';
import { poolOf } from './pick.ts';
import { preparePools, usable, usableCount, type Pool } from './pools.ts';
import type { IgnoredReason } from './reasons.ts';
import { sharingKeyOf } from './request.ts';
import { AllocationTable, type Entry, type Profile } from './table.ts';
import type { AllocatorConfig, Decision, PoolCounts, PoolView, RestoreReport, ServiceView } from './types.ts';

type MutableReport = {
  -readonly [K in keyof RestoreReport]: RestoreReport[K] extends readonly (infer T)[]
    ? T[]
    : RestoreReport[K];
};

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
  readonly #table = new AllocationTable();

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
    this.#table.clear();
    const report: MutableReport = { restored: 0, outsidePool: [], conflicts: [], invalid: [] };
    for (const svc of services.filter((s) => this.ignores(s) === undefined).sort(compareAge)) {
      if (this.#table.entry(serviceKey(svc)) !== undefined) continue;
      const entry = this.#adopt(svc, report);
      if (entry.ips.length > 0) report.restored++;
      else this.#table.drop(entry.key);
    }
    return report;
  }

  /** Decides the Service's IPs and records them. See docs/allocation.md for the rules. */
  assign(svc: ServiceView): Decision {
    const key = serviceKey(svc);
    const ignored = this.ignores(svc);
    if (ignored !== undefined) return { kind: 'ignored', reason: ignored, released: this.release(key) };

    const released: string[] = [];
    let entry = this.#table.entry(key);
    if (entry !== undefined && entry.uid !== svc.uid) {
      // Deleted and created again under the same name: a new Service.
      released.push(...this.release(key));
      entry = undefined;
    }
    if (entry === undefined) {
      entry = this.#adopt(svc, undefined);
    } else {
      this.#table.setProfile(entry, this.#profileOf(svc));
      entry.created = svc.creationTimestamp;
    }
    // An IP whose sharing this Service broke (its key, ports or policy changed): the
    // Service that changed moves; the others keep the IP.
    for (const h of [...entry.ips]) {
      if (this.#table.conflictWith(h.ip, entry.key, entry.profile) !== undefined)
        released.push(...this.#table.unhold(entry, h.ip));
    }
    const decision = decide({ table: this.#table, pools: this.#pools }, svc, entry, released);
    if (entry.ips.length === 0) this.#table.drop(entry.key);
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
    const entry = this.#table.entry(key);
    if (entry === undefined) return [];
    const out: string[] = [];
    for (const h of [...entry.ips]) out.push(...this.#table.unhold(entry, h.ip));
    this.#table.drop(key);
    return out;
  }

  /** The Services holding an IP (more than one when shared). */
  holdersOf(ip: string): string[] {
    const p = parseIp(ip);
    if (p === undefined) return [];
    return this.#table.holdersOf(formatIp(p.family, p.value)).sort();
  }

  /** The IPs a Service holds. */
  ipsOf(key: string): string[] {
    return (this.#table.entry(key)?.ips ?? []).map((h) => h.ip);
  }

  /** Every Service that holds an IP, and its IPs, sorted by key. */
  table(): { service: string; ips: string[] }[] {
    return [...this.#table.entries()]
      .filter((e) => e.ips.length > 0)
      .map((e) => ({ service: e.key, ips: e.ips.map((h) => h.ip) }))
      .sort((a, b) => (a.service < b.service ? -1 : 1));
  }

  /** Assigned and available usable addresses per pool and family (pools in preference order). */
  counts(): PoolCounts[] {
    return this.#pools.map((pool) => {
      const assigned = { 4: 0n, 6: 0n };
      for (const a of this.#table.addresses()) if (usable(pool, a.family, a.value)) assigned[a.family]++;
      const fam = (f: Family): { assigned: bigint; available: bigint } => ({
        assigned: assigned[f],
        available: usableCount(pool, f) - assigned[f],
      });
      return { pool: pool.view.name, ipv4: fam(4), ipv6: fam(6) };
    });
  }

  #profileOf(svc: ServiceView): Profile {
    const raw = sharingKeyOf(svc);
    return {
      sharingKey: raw === null ? null : this.#crossNamespace ? raw : `${svc.namespace}/${raw}`,
      trafficPolicy: svc.externalTrafficPolicy,
      ports: new Set(svc.ports.map((p) => `${p.protocol.toUpperCase()}/${p.port}`)),
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
    this.#table.add(entry);
    this.#table.setProfile(entry, this.#profileOf(svc));
    for (const text of svc.currentIPs) {
      const p = parseIp(text);
      if (p === undefined || entry.ips.some((h) => h.family === p.family)) {
        report?.invalid.push({ service: entry.key, ip: text });
        continue;
      }
      const ip = formatIp(p.family, p.value);
      if (this.#table.conflictWith(ip, entry.key, entry.profile) !== undefined) {
        report?.conflicts.push({ service: entry.key, ip, heldBy: this.holdersOf(ip) });
        continue;
      }
      const held = { ip, family: p.family, value: p.value };
      this.#table.hold(entry, held);
      if (poolOf(this.#pools, held) === null) report?.outsidePool.push({ service: entry.key, ip });
    }
    return entry;
  }
}
