/** MetalLB `IPAddressPool` to meshlb `IPPool`. */
import { API_VERSION, type ServiceAllocation } from '../kube/api/index.ts';
import { convertAddresses } from './addresses.ts';
import { LIMITS } from './constants.ts';
import { isRecord, show, type Issues } from './issues.ts';
import type { Source } from './metadata.ts';
import { convertSelectors, convertStringSet } from './selectors.ts';
import type { WrittenIPPool } from './types.ts';

function convertBoolean(value: unknown, field: string, issues: Issues): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    issues.error(`${field}: must be true or false, got ${show(value)}`);
    return undefined;
  }
  return value;
}

function convertPriority(value: unknown, issues: Issues): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    issues.error(`serviceAllocation.priority: must be an integer from 0 to 2147483647, got ${show(value)}`);
    return undefined;
  }
  if (value === 0) {
    // MetalLB's priority is an `int` with omitempty: 0 is "no priority", after every pool with one.
    issues.warning(
      'serviceAllocation.priority: 0 means "no priority" in MetalLB (tried after every pool with one) but the highest in meshlb: left out, which keeps MetalLB\'s order',
    );
    return undefined;
  }
  return value;
}

function convertServiceAllocation(value: unknown, issues: Issues): ServiceAllocation | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    issues.error(`serviceAllocation: must be a mapping, got ${show(value)}`);
    return undefined;
  }
  const { priority, namespaces, namespaceSelectors, serviceSelectors, ...rest } = value;
  for (const extra of Object.keys(rest))
    issues.warning(`serviceAllocation.${extra}: unknown field, left out`);
  const out: ServiceAllocation = {};
  const p = convertPriority(priority, issues);
  if (p !== undefined) out.priority = p;
  const ns = convertStringSet(namespaces, 'serviceAllocation.namespaces', issues);
  if (ns !== undefined) {
    if (ns.length > LIMITS.namespaces || ns.some((n) => n === '' || n.length > LIMITS.namespaceLength)) {
      issues.error(
        `serviceAllocation.namespaces: meshlb takes at most ${String(LIMITS.namespaces)} namespace names of 1 to ${String(LIMITS.namespaceLength)} characters`,
      );
    } else if (ns.length > 0) {
      out.namespaces = ns;
    }
  }
  const nsSel = convertSelectors(namespaceSelectors, 'serviceAllocation.namespaceSelectors', issues);
  if (nsSel !== undefined && nsSel.length > 0) out.namespaceSelectors = nsSel;
  const svcSel = convertSelectors(serviceSelectors, 'serviceAllocation.serviceSelectors', issues);
  if (svcSel !== undefined && svcSel.length > 0) out.serviceSelectors = svcSel;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Converts an IPAddressPool's spec; undefined (with an error in `issues`) when it cannot. */
export function convertPool(source: Source, spec: unknown, issues: Issues): WrittenIPPool | undefined {
  if (!isRecord(spec)) {
    issues.error('spec: missing (a pool needs addresses)');
    return undefined;
  }
  const { addresses, autoAssign, avoidBuggyIPs, serviceAllocation, ...rest } = spec;
  for (const extra of Object.keys(rest)) issues.warning(`spec.${extra}: unknown field, left out`);
  const converted = convertAddresses(addresses, issues);
  const auto = convertBoolean(autoAssign, 'autoAssign', issues);
  const buggy = convertBoolean(avoidBuggyIPs, 'avoidBuggyIPs', issues);
  const allocation = convertServiceAllocation(serviceAllocation, issues);
  if (converted === undefined || issues.failed) return undefined;
  const pool: WrittenIPPool = {
    apiVersion: API_VERSION,
    kind: 'IPPool',
    metadata: source.metadata,
    spec: { addresses: converted },
  };
  if (auto !== undefined) pool.spec.autoAssign = auto;
  if (buggy !== undefined) pool.spec.avoidBuggyIPs = buggy;
  if (allocation !== undefined) pool.spec.serviceAllocation = allocation;
  return pool;
}
