// Builders of API objects for the World tests.
import type {
  V1Endpoint,
  V1EndpointSlice,
  V1ManagedFieldsEntry,
  V1Node,
  V1NodeCondition,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';
import type { IPPool, L2Advertisement } from '../../src/kube/api/index.ts';

export const OWNED: V1ManagedFieldsEntry = {
  manager: 'meshlb-controller',
  operation: 'Apply',
  subresource: 'status',
  apiVersion: 'v1',
  fieldsV1: { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } },
};
export const FOREIGN: V1ManagedFieldsEntry = {
  manager: 'rival',
  operation: 'Update',
  subresource: 'status',
  apiVersion: 'v1',
  fieldsV1: { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } },
};

export function node(
  name: string,
  opts: {
    ready?: string | undefined;
    conditions?: V1NodeCondition[];
    labels?: Record<string, string>;
    taints?: { key: string; effect: string }[];
    unschedulable?: boolean;
    deleting?: Date | string;
  } = {},
): V1Node {
  const ready = 'ready' in opts ? opts.ready : 'True';
  return {
    metadata: {
      name,
      labels: opts.labels ?? {},
      ...(opts.deleting === undefined ? {} : { deletionTimestamp: opts.deleting as Date }),
    },
    spec: {
      ...(opts.taints === undefined ? {} : { taints: opts.taints }),
      ...(opts.unschedulable === undefined ? {} : { unschedulable: opts.unschedulable }),
    },
    status: {
      conditions: [
        ...(ready === undefined ? [] : [{ type: 'Ready', status: ready }]),
        ...(opts.conditions ?? []),
      ],
    },
  };
}

export function service(
  namespace: string,
  name: string,
  ips: string[],
  opts: { local?: boolean; type?: string; managed?: V1ManagedFieldsEntry[] } = {},
): V1Service {
  return {
    metadata: { namespace, name, managedFields: opts.managed ?? [OWNED] },
    spec: {
      type: opts.type ?? 'LoadBalancer',
      externalTrafficPolicy: opts.local === true ? 'Local' : 'Cluster',
    },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } },
  };
}

export function endpoint(
  nodeName: string | undefined,
  conditions: V1Endpoint['conditions'] = {},
): V1Endpoint {
  return { addresses: ['10.0.0.1'], conditions, ...(nodeName === undefined ? {} : { nodeName }) };
}

export function slice(
  namespace: string,
  svc: string | undefined,
  endpoints: V1Endpoint[],
  addressType = 'IPv4',
  name = `${svc ?? 'x'}-${addressType}`,
): V1EndpointSlice {
  return {
    addressType,
    metadata: {
      namespace,
      name,
      labels: svc === undefined ? {} : { 'kubernetes.io/service-name': svc },
    },
    endpoints,
  };
}

export function pool(
  name: string,
  addresses: string[],
  created = '2025-01-01T00:00:00Z',
  labels: Record<string, string> = {},
): IPPool {
  return {
    apiVersion: 'meshlb.io/v1alpha1',
    kind: 'IPPool',
    metadata: { name, labels, creationTimestamp: created as unknown as Date },
    spec: { addresses, autoAssign: true, avoidBuggyIPs: false },
  };
}

export function advertisement(name: string, spec: Partial<L2Advertisement['spec']>): L2Advertisement {
  return {
    apiVersion: 'meshlb.io/v1alpha1',
    kind: 'L2Advertisement',
    metadata: { name },
    spec: { cordonPolicy: 'Keep', failback: false, ...spec },
  };
}

export function speakerPod(
  name: string,
  nodeName: string | undefined,
  annotations: Record<string, string>,
  opts: { component?: string; phase?: string; namespace?: string; deleting?: boolean } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: opts.namespace ?? 'meshlb',
      labels: { 'app.kubernetes.io/component': opts.component ?? 'speaker' },
      annotations,
      ...(opts.deleting === true ? { deletionTimestamp: new Date(0) } : {}),
    },
    spec: { containers: [], ...(nodeName === undefined ? {} : { nodeName }) },
    status: { phase: opts.phase ?? 'Running' },
  };
}
