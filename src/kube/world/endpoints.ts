import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import type { Family } from '../../ip/index.ts';
import { SERVICE_NAME_LABEL } from './constants.ts';

/**
 * Whether an endpoint can take traffic on its node: `ready`, or `serving` while
 * terminating (kube-proxy falls back to those when a node has no ready local
 * endpoint; `localEndpoints` says when meshlb does).
 * Unset conditions read as the API documents them: ready and serving true,
 * terminating false.
 */
export function endpointServes(e: V1Endpoint): boolean {
  const c = e.conditions ?? {};
  if (c.ready !== false) return true;
  return c.terminating === true && c.serving !== false;
}

/** The nodes that may announce a Local Service's IP, per Service (`namespace/name`) and address family. */
export type LocalEndpoints = ReadonlyMap<string, Readonly<Record<Family, ReadonlySet<string>>>>;

const FAMILY: Readonly<Record<string, Family | undefined>> = { IPv4: 4, IPv6: 6 };

/**
 * The nodes whose kube-proxy delivers a Local Service's traffic, per Service
 * and family: the nodes with a ready endpoint; only while no node has one,
 * the nodes with an endpoint still serving while it terminates. That is
 * kube-proxy's own fallback (it uses terminating endpoints only when no ready
 * one is left) taken across nodes: when the announcer's only Pod begins to
 * terminate (a rollout, a drain) and another node has a ready one, the IP
 * moves while the old Pod still serves, so no request finds it gone. A Service
 * scaled to nothing keeps its IP on the draining nodes until they stop serving.
 *
 * A slice belongs to the Service its `kubernetes.io/service-name` label names
 * in its namespace; a slice without it (a hand-made one), an FQDN slice and an
 * endpoint without `nodeName` attribute nothing to any node.
 */
export function localEndpoints(slices: readonly V1EndpointSlice[]): LocalEndpoints {
  const ready = new Map<string, Record<Family, Set<string>>>();
  const serving = new Map<string, Record<Family, Set<string>>>();
  const entry = (m: Map<string, Record<Family, Set<string>>>, key: string): Record<Family, Set<string>> => {
    let e = m.get(key);
    if (e === undefined) {
      e = { 4: new Set(), 6: new Set() };
      m.set(key, e);
    }
    return e;
  };
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const family = FAMILY[slice.addressType];
    if (service === undefined || family === undefined) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${service}`;
    const r = entry(ready, key)[family];
    const s = entry(serving, key)[family];
    for (const e of slice.endpoints ?? []) {
      if (e.nodeName === undefined || e.nodeName === '') continue;
      if (e.conditions?.ready !== false) r.add(e.nodeName);
      else if (endpointServes(e)) s.add(e.nodeName);
    }
  }
  const out = new Map<string, Record<Family, ReadonlySet<string>>>();
  for (const [key, r] of ready) {
    const s = serving.get(key) ?? { 4: new Set(), 6: new Set() };
    out.set(key, { 4: r[4].size > 0 ? r[4] : s[4], 6: r[6].size > 0 ? r[6] : s[6] });
  }
  return out;
}
