import { formatIp, parseIp, type Family, type IpAddress } from '../../ip/index.ts';
import type { IpFamilyName, IpFamilyPolicy, ServiceView } from './types.ts';

/** Annotations the allocator reads; the first of each list that is set and non-empty wins. */
export const ANNOTATIONS = {
  loadBalancerIPs: [
    'meshlb.io/loadBalancerIPs',
    'metallb.io/loadBalancerIPs',
    'metallb.universe.tf/loadBalancerIPs',
  ],
  addressPool: ['meshlb.io/address-pool', 'metallb.io/address-pool', 'metallb.universe.tf/address-pool'],
  allowSharedIp: [
    'meshlb.io/allow-shared-ip',
    'metallb.io/allow-shared-ip',
    'metallb.universe.tf/allow-shared-ip',
  ],
  addressCount: ['meshlb.io/address-count'],
} as const;

/**
 * The most addresses per family one Service may ask for: layer 2 spreads a
 * Service's addresses over distinct nodes, so more addresses than a cluster's
 * typical node count only take pool space (and ARP entries) without adding a
 * node's worth of throughput.
 */
export const MAX_ADDRESS_COUNT = 8;

/** Where requested IPs came from, highest precedence first. */
export type RequestSource =
  | 'meshlb.io/loadBalancerIPs'
  | 'spec.loadBalancerIP'
  | 'metallb.io/loadBalancerIPs'
  | 'metallb.universe.tf/loadBalancerIPs';

export interface RequestedIp extends IpAddress {
  text: string;
}

/** What a Service asks for, read and checked. */
export interface Intent {
  /** Families wanted, primary first. */
  families: readonly Family[];
  policy: IpFamilyPolicy;
  requested: { source: RequestSource; ips: readonly RequestedIp[] } | null;
  pool: string | null;
  /** The raw sharing key (not yet scoped to the namespace), or null. */
  sharingKey: string | null;
  /** Addresses wanted per family (`meshlb.io/address-count`, default 1). */
  count: number;
}

export type IntentResult = { ok: true; intent: Intent } | { ok: false; message: string };

export const familyName = (f: Family): IpFamilyName => (f === 4 ? 'IPv4' : 'IPv6');
const familyOf = (n: IpFamilyName): Family => (n === 'IPv4' ? 4 : 6);

function firstAnnotation(
  annotations: Readonly<Record<string, string>>,
  keys: readonly string[],
): { key: string; value: string } | undefined {
  for (const key of keys) {
    const value = annotations[key]?.trim();
    if (value !== undefined && value !== '') return { key, value };
  }
  return undefined;
}

/** The sharing key: `meshlb.io/allow-shared-ip`, then MetalLB's two annotations; null when none is set. */
export function sharingKeyOf(svc: ServiceView): string | null {
  return firstAnnotation(svc.annotations, ANNOTATIONS.allowSharedIp)?.value ?? null;
}

/**
 * The requested IPs, from the first source that is set and non-empty:
 * `meshlb.io/loadBalancerIPs`, `spec.loadBalancerIP`, `metallb.io/loadBalancerIPs`,
 * `metallb.universe.tf/loadBalancerIPs`. Later sources are ignored, not merged.
 */
export function requestedIpsText(svc: ServiceView): { source: RequestSource; value: string } | undefined {
  const ours = firstAnnotation(svc.annotations, [ANNOTATIONS.loadBalancerIPs[0]]);
  if (ours !== undefined) return { source: 'meshlb.io/loadBalancerIPs', value: ours.value };
  const spec = svc.loadBalancerIP?.trim();
  if (spec !== undefined && spec !== '') return { source: 'spec.loadBalancerIP', value: spec };
  const theirs = firstAnnotation(svc.annotations, ANNOTATIONS.loadBalancerIPs.slice(1));
  if (theirs !== undefined) return { source: theirs.key as RequestSource, value: theirs.value };
  return undefined;
}

function wantedFamilies(svc: ServiceView, policy: IpFamilyPolicy): Family[] {
  const listed: Family[] = [];
  for (const n of svc.ipFamilies) if (!listed.includes(familyOf(n))) listed.push(familyOf(n));
  if (policy === 'SingleStack') return [listed[0] ?? 4];
  if (listed.length === 0) return [4, 6];
  // RequireDualStack always means both; the API server lists both anyway.
  if (policy === 'RequireDualStack' && listed.length === 1) listed.push(listed[0] === 4 ? 6 : 4);
  // PreferDualStack on a single-stack cluster: the API server listed one family only.
  return listed;
}

/** `meshlb.io/address-count`: a whole number 1…MAX_ADDRESS_COUNT; 1 when unset. */
function countOf(svc: ServiceView): number | string {
  const a = firstAnnotation(svc.annotations, ANNOTATIONS.addressCount);
  if (a === undefined) return 1;
  const n = Number(a.value);
  return /^\d+$/.test(a.value) && n >= 1 && n <= MAX_ADDRESS_COUNT
    ? n
    : `${a.key}: ${JSON.stringify(a.value)} must be a whole number from 1 to ${MAX_ADDRESS_COUNT} (addresses per family)`;
}

/** Reads what a Service asks for; fails (InvalidRequest) when the request cannot be served as written. */
export function readIntent(svc: ServiceView): IntentResult {
  const policy = svc.ipFamilyPolicy ?? 'SingleStack';
  const families = wantedFamilies(svc, policy);
  const pool = firstAnnotation(svc.annotations, ANNOTATIONS.addressPool)?.value ?? null;
  const sharingKey = sharingKeyOf(svc);
  const count = countOf(svc);
  if (typeof count === 'string') return { ok: false, message: count };
  const text = requestedIpsText(svc);
  if (text === undefined)
    return { ok: true, intent: { families, policy, requested: null, pool, sharingKey, count } };

  const ips: RequestedIp[] = [];
  for (const part of text.value.split(',')) {
    if (part.trim() === '') continue;
    const ip = parseIp(part.trim());
    if (ip === undefined)
      return { ok: false, message: `${text.source}: ${JSON.stringify(part.trim())} is not an IP address` };
    if (ips.filter((o) => o.family === ip.family).length >= count) {
      return {
        ok: false,
        message:
          count === 1
            ? `${text.source}: more than one ${familyName(ip.family)} address (meshlb.io/address-count asks for more)`
            : `${text.source}: more than ${count} ${familyName(ip.family)} addresses (meshlb.io/address-count is ${count})`,
      };
    }
    if (ips.some((o) => o.family === ip.family && o.value === ip.value))
      return { ok: false, message: `${text.source}: ${part.trim()} is listed twice` };
    if (!families.includes(ip.family)) {
      return {
        ok: false,
        message: `${text.source}: ${part.trim()} is ${familyName(ip.family)}, but the Service's families are ${families.map(familyName).join(',')}`,
      };
    }
    ips.push({ ...ip, text: formatIp(ip.family, ip.value) });
  }
  if (ips.length === 0)
    return { ok: true, intent: { families, policy, requested: null, pool, sharingKey, count } };
  if (policy === 'RequireDualStack' && !families.every((f) => ips.some((ip) => ip.family === f))) {
    return { ok: false, message: `${text.source}: RequireDualStack needs one address of each family` };
  }
  for (const f of new Set(ips.map((ip) => ip.family)))
    if (count > 1 && ips.filter((ip) => ip.family === f).length !== count)
      return {
        ok: false,
        message: `${text.source}: meshlb.io/address-count is ${count}: list ${count} ${familyName(f)} addresses, or none`,
      };
  // Primary family first, whatever order they were written in.
  ips.sort((a, b) => families.indexOf(a.family) - families.indexOf(b.family));
  return {
    ok: true,
    intent: { families, policy, requested: { source: text.source, ips }, pool, sharingKey, count },
  };
}
