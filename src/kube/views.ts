import type { V1ManagedFieldsEntry, V1Service } from '@kubernetes/client-node';
import type { IpFamilyName, IpFamilyPolicy, PoolView, ServiceView } from './allocator/index.ts';
import { parseAddressEntry, type IPPool } from './api/index.ts';

/** The field manager of every write the controller makes (server-side apply). */
export const CONTROLLER_MANAGER = 'meshlb-controller';

const ms = (t: Date | string | undefined): number =>
  t === undefined ? 0 : t instanceof Date ? t.getTime() : Date.parse(t);

/**
 * Whether `manager` owns status.loadBalancer of this object (its managedFields
 * say so). The controller only ever treats as its own a status it wrote.
 */
export function ownsLoadBalancerStatus(
  entries: readonly V1ManagedFieldsEntry[] | undefined,
  manager: string,
): boolean {
  return (entries ?? []).some(
    (m) =>
      m.manager === manager &&
      m.subresource === 'status' &&
      JSON.stringify(m.fieldsV1 ?? {}).includes('"f:loadBalancer"'),
  );
}

/** The IPs of status.loadBalancer.ingress, in order. */
export function ingressIps(svc: V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip]));
}

/**
 * A Service as the allocator sees it. `currentIPs` are its status IPs only
 * when meshlb's field manager owns that status.
 */
export function toServiceView(
  svc: V1Service,
  namespaceLabels: Readonly<Record<string, string>>,
): ServiceView {
  const spec = svc.spec ?? {};
  const meta = svc.metadata ?? {};
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    creationTimestamp: ms(meta.creationTimestamp),
    labels: meta.labels ?? {},
    namespaceLabels,
    annotations: meta.annotations ?? {},
    type: spec.type ?? 'ClusterIP',
    loadBalancerClass: spec.loadBalancerClass,
    ipFamilies: (spec.ipFamilies ?? []).filter((f): f is IpFamilyName => f === 'IPv4' || f === 'IPv6'),
    ipFamilyPolicy: spec.ipFamilyPolicy as IpFamilyPolicy | undefined,
    ports: (spec.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port })),
    externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    loadBalancerIP: spec.loadBalancerIP,
    currentIPs: ownsLoadBalancerStatus(meta.managedFields, CONTROLLER_MANAGER) ? ingressIps(svc) : [],
  };
}

/**
 * An IPPool as the allocator sees it. The API server has validated the
 * addresses (CEL), so a parse error here means a schema change: it throws
 * the address module's InvalidAddressError, and the caller refuses the pool.
 */
export function toPoolView(pool: IPPool): PoolView {
  const alloc = pool.spec.serviceAllocation;
  return {
    name: pool.metadata.name ?? '',
    addresses: pool.spec.addresses.map(parseAddressEntry),
    autoAssign: pool.spec.autoAssign,
    avoidBuggyIPs: pool.spec.avoidBuggyIPs,
    priority: alloc?.priority,
    namespaces: alloc?.namespaces ?? [],
    namespaceSelectors: alloc?.namespaceSelectors ?? [],
    serviceSelectors: alloc?.serviceSelectors ?? [],
    creationTimestamp: ms(pool.metadata.creationTimestamp),
  };
}
