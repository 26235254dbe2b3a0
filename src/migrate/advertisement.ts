/** MetalLB `L2Advertisement` to meshlb `L2Advertisement`. */
import { API_VERSION } from '../kube/api/index.ts';
import { LIMITS } from './constants.ts';
import { isRecord, show, type Issues } from './issues.ts';
import type { Source } from './metadata.ts';
import { convertSelectors, convertStringSet } from './selectors.ts';
import type { WrittenL2Advertisement } from './types.ts';

/** What the Linux kernel and meshlb's schema take as an interface name. */
function interfaceProblem(name: string): string | undefined {
  if (name === '' || new TextEncoder().encode(name).length > LIMITS.interfaceLength)
    return `must be 1 to ${String(LIMITS.interfaceLength)} bytes`;
  if (/[/:\s]/.test(name) || name === '.' || name === '..')
    return "an interface name has no '/', ':' or whitespace and is not '.' or '..'";
  return undefined;
}

/** Converts an L2Advertisement's spec; undefined (with an error in `issues`) when it cannot. */
export function convertAdvertisement(
  source: Source,
  spec: unknown,
  issues: Issues,
): WrittenL2Advertisement | undefined {
  const s = spec ?? {};
  if (!isRecord(s)) {
    issues.error(`spec: must be a mapping, got ${show(spec)}`);
    return undefined;
  }
  const { ipAddressPools, ipAddressPoolSelectors, nodeSelectors, interfaces, ...rest } = s;
  for (const extra of Object.keys(rest)) issues.warning(`spec.${extra}: unknown field, left out`);
  const out: WrittenL2Advertisement = {
    apiVersion: API_VERSION,
    kind: 'L2Advertisement',
    metadata: source.metadata,
    spec: {},
  };

  const pools = convertStringSet(ipAddressPools, 'ipAddressPools', issues);
  if (pools !== undefined) {
    if (pools.length > LIMITS.ipPools || pools.some((p) => p === '' || p.length > LIMITS.poolNameLength)) {
      issues.error(
        `ipAddressPools: meshlb takes at most ${String(LIMITS.ipPools)} pool names of 1 to ${String(LIMITS.poolNameLength)} characters`,
      );
    } else if (pools.length > 0) {
      out.spec.ipPools = pools;
    }
  }
  const poolSelectors = convertSelectors(ipAddressPoolSelectors, 'ipAddressPoolSelectors', issues);
  if (poolSelectors !== undefined && poolSelectors.length > 0) out.spec.ipPoolSelectors = poolSelectors;
  const nodes = convertSelectors(nodeSelectors, 'nodeSelectors', issues);
  if (nodes !== undefined && nodes.length > 0) out.spec.nodeSelectors = nodes;
  const ifaces = convertStringSet(interfaces, 'interfaces', issues);
  if (ifaces !== undefined) {
    if (ifaces.length > LIMITS.interfaces) {
      issues.error(
        `interfaces: ${String(ifaces.length)} interfaces, meshlb takes at most ${String(LIMITS.interfaces)}`,
      );
    }
    for (const name of ifaces) {
      const problem = interfaceProblem(name);
      if (problem !== undefined) issues.error(`interfaces: ${show(name)}: ${problem}`);
    }
    if (ifaces.length > 0) out.spec.interfaces = ifaces;
  }
  if (issues.failed) return undefined;
  if (out.spec.ipPools === undefined && out.spec.ipPoolSelectors === undefined) {
    out.spec.ipPoolSelectors = [{}];
    issues.note(
      'names no pools, which in MetalLB means every pool: written as ipPoolSelectors: [{}] (meshlb requires the pools to be named)',
    );
  }
  return out;
}
