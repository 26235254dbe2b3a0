import { parseAddressEntry } from '../../src/ip/index.ts';
import type { PoolView, ServiceView } from '../../src/kube/allocator/index.ts';

/** A pool from address strings; auto-assigning, open to every namespace and Service. */
export function pool(name: string, addresses: string[], over: Partial<PoolView> = {}): PoolView {
  return {
    name,
    addresses: addresses.map(parseAddressEntry),
    autoAssign: true,
    avoidBuggyIPs: false,
    namespaces: [],
    namespaceSelectors: [],
    serviceSelectors: [],
    creationTimestamp: 0,
    ...over,
  };
}

/** A LoadBalancer Service `ns/name` (default ns `default`), TCP/80, Cluster policy, IPv4 single-stack. */
export function svc(name: string, over: Partial<ServiceView> = {}): ServiceView {
  const [ns, n] = name.includes('/') ? (name.split('/') as [string, string]) : ['default', name];
  return {
    namespace: ns,
    name: n,
    uid: `uid-${ns}-${n}`,
    creationTimestamp: 1000,
    labels: {},
    namespaceLabels: {},
    annotations: {},
    type: 'LoadBalancer',
    ipFamilies: ['IPv4'],
    ports: [{ protocol: 'TCP', port: 80 }],
    externalTrafficPolicy: 'Cluster',
    currentIPs: [],
    ...over,
  };
}

/** The Service as the controller sees it after writing `ips` to its status. */
export function withStatus(s: ServiceView, ips: readonly string[]): ServiceView {
  return { ...s, currentIPs: ips };
}

export const dual = { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' } as const;
export const preferDual = { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' } as const;
