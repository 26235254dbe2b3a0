import type { V1Service } from '@kubernetes/client-node';
import type { ServiceIp } from '../../election/index.ts';
import { formatIp, parseIp, type Family } from '../../ip/index.ts';
import { CONTROLLER_MANAGER, ownsLoadBalancerStatus } from '../views.ts';
import type { ServiceRef } from '../announcements/index.ts';
import type { LocalEndpoints } from './endpoints.ts';
import type { PoolIndex } from './pools.ts';

/** Why an address in a Service's status is not announced. */
export type UnannouncedReason =
  /** The Service is not `type: LoadBalancer` (any more). */
  | 'NotLoadBalancer'
  /** status.loadBalancer was written by another field manager than `meshlb-controller`. */
  | 'StatusNotOwned'
  /** Not an IPv4 or IPv6 address (or an IPv4-mapped IPv6 one). */
  | 'InvalidIp'
  /** No IPPool contains it. */
  | 'NotInPool';

export interface UnannouncedIp {
  /** `namespace/name`. */
  service: string;
  ip: string;
  reason: UnannouncedReason;
}

export interface ServiceIps {
  /** One entry per address, sorted (IPv4 first, then by value). */
  ips: ServiceIp[];
  /** Addresses in Service statuses that are not announced, and why (for logs and explain). */
  unannounced: UnannouncedIp[];
  /** The Services on each announced address (canonical form), in name order. */
  services: Map<string, ServiceRef[]>;
}

interface Group {
  family: Family;
  value: bigint;
  ip: string;
  pool: string;
  /** Per Local Service on the IP: its nodes with a serving endpoint of the IP's family. */
  local: ReadonlySet<string>[];
  services: ServiceRef[];
  /** Its Service's key and family, when that Service has several IPs of the family (the least such key). */
  group?: string;
}

const NONE: ReadonlySet<string> = new Set();

function intersect(sets: readonly ReadonlySet<string>[]): Set<string> {
  const [first, ...rest] = sets;
  return new Set([...(first ?? [])].filter((n) => rest.every((s) => s.has(n))).sort());
}

/**
 * The service IPs to announce: the ingress IPs of `type: LoadBalancer` Services
 * whose status.loadBalancer the controller wrote (field manager
 * `meshlb-controller`, the rule the controller restores its table by), that an
 * IPPool contains. Services sharing an IP give one entry. With
 * `externalTrafficPolicy: Local`, `localEndpointNodes` is the **intersection**
 * over the Local Services on the IP of their nodes with a serving endpoint of
 * the IP's family: whichever node announces must deliver every Service on the
 * IP, and a Local Service drops traffic on a node without a local endpoint.
 * Cluster-policy Services on the IP add no constraint (any node forwards).
 */
export function serviceIps(
  services: readonly V1Service[],
  pools: PoolIndex,
  endpoints: LocalEndpoints,
): ServiceIps {
  const groups = new Map<string, Group>();
  const unannounced: UnannouncedIp[] = [];
  for (const svc of services) {
    const meta = svc.metadata ?? {};
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    const texts = [
      ...new Set(
        (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])),
      ),
    ];
    if (texts.length === 0) continue;
    const skip = (reason: UnannouncedReason): void => {
      for (const ip of texts) unannounced.push({ service: key, ip, reason });
    };
    if (svc.spec?.type !== 'LoadBalancer') {
      skip('NotLoadBalancer');
      continue;
    }
    if (!ownsLoadBalancerStatus(meta.managedFields, CONTROLLER_MANAGER)) {
      skip('StatusNotOwned');
      continue;
    }
    const local = svc.spec.externalTrafficPolicy === 'Local';
    // Several announced IPs of one family (meshlb.io/address-count): spread over distinct nodes.
    const perFamily = new Map<number, number>();
    for (const text of texts) {
      const p = parseIp(text);
      if (p !== undefined && pools.poolOf(p) !== undefined)
        perFamily.set(p.family, (perFamily.get(p.family) ?? 0) + 1);
    }
    for (const text of texts) {
      const parsed = parseIp(text);
      if (parsed === undefined) {
        unannounced.push({ service: key, ip: text, reason: 'InvalidIp' });
        continue;
      }
      const pool = pools.poolOf(parsed);
      if (pool === undefined) {
        unannounced.push({ service: key, ip: text, reason: 'NotInPool' });
        continue;
      }
      const ip = formatIp(parsed.family, parsed.value);
      let g = groups.get(ip);
      if (g === undefined) {
        g = { family: parsed.family, value: parsed.value, ip, pool, local: [], services: [] };
        groups.set(ip, g);
      }
      g.services.push({ namespace: meta.namespace ?? '', name: meta.name ?? '', uid: meta.uid ?? '' });
      if ((perFamily.get(parsed.family) ?? 0) > 1) {
        // Shared by several such Services: the least key, whatever order the objects came in.
        const group = `${key}/ipv${parsed.family}`;
        if (g.group === undefined || group < g.group) g.group = group;
      }
      if (local) g.local.push(endpoints.get(key)?.[parsed.family] ?? NONE);
    }
  }
  const ips = [...groups.values()]
    .sort((a, b) => (a.family !== b.family ? a.family - b.family : a.value < b.value ? -1 : 1))
    .map((g): ServiceIp => {
      const ip: ServiceIp = { ip: g.ip, pool: g.pool };
      if (g.local.length > 0) ip.localEndpointNodes = intersect(g.local);
      if (g.group !== undefined) ip.group = g.group;
      return ip;
    });
  unannounced.sort((a, b) =>
    a.service !== b.service ? (a.service < b.service ? -1 : 1) : a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0,
  );
  const byName = (a: ServiceRef, b: ServiceRef): number =>
    a.namespace !== b.namespace
      ? a.namespace < b.namespace
        ? -1
        : 1
      : a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : 0;
  const refs = new Map([...groups.values()].map((g) => [g.ip, g.services.sort(byName)]));
  return { ips, unannounced, services: refs };
}
