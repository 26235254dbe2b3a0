import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import type { Family } from '../../ip/index.ts';
import { SERVICE_NAME_LABEL } from './constants.ts';

/**
 * Whether an endpoint can take traffic on its node: `ready`, or `serving` while
 * terminating (kube-proxy falls back to those when a node has no ready local
 * endpoint, so a Pod draining during a rollout still holds the IP on its node).
 * Unset conditions read as the API documents them: ready and serving true,
 * terminating false.
 */
export function endpointServes(e: V1Endpoint): boolean {
  const c = e.conditions ?? {};
  if (c.ready !== false) return true;
  return c.terminating === true && c.serving !== false;
}

/** Nodes with a serving endpoint, per Service (`namespace/name`) and address family. */
export type LocalEndpoints = ReadonlyMap<string, Readonly<Record<Family, ReadonlySet<string>>>>;

const FAMILY: Readonly<Record<string, Family | undefined>> = { IPv4: 4, IPv6: 6 };

/**
 * Groups the serving endpoints of EndpointSlices by Service and node. A slice
 * belongs to the Service its `kubernetes.io/service-name` label names in its
 * namespace; a slice without it (a hand-made one), an FQDN slice and an
 * endpoint without `nodeName` attribute nothing to any node.
 */
export function localEndpoints(slices: readonly V1EndpointSlice[]): LocalEndpoints {
  const out = new Map<string, Record<Family, Set<string>>>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const family = FAMILY[slice.addressType];
    if (service === undefined || family === undefined) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${service}`;
    let entry = out.get(key);
    if (entry === undefined) {
      entry = { 4: new Set(), 6: new Set() };
      out.set(key, entry);
    }
    for (const e of slice.endpoints ?? []) {
      if (e.nodeName !== undefined && e.nodeName !== '' && endpointServes(e)) entry[family].add(e.nodeName);
    }
  }
  return out;
}
