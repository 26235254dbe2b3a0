/** The converter: MetalLB objects in, meshlb objects and a report out. Pure. */
import { convertAdvertisement } from './advertisement.ts';
import { METALLB_API_VERSION, METALLB_BGP_KINDS, METALLB_STATUS_KINDS } from './constants.ts';
import { isRecord, Issues } from './issues.ts';
import { convertMetadata, qualifiedName } from './metadata.ts';
import { convertPool } from './pool.ts';
import type { Finding, MeshlbObject, MigrateResult, WrittenIPPool, WrittenL2Advertisement } from './types.ts';

const METALLB_GROUP = 'metallb.io/';

/** `kind/name` of an input object, as the report names it. */
function subjectOf(obj: Record<string, unknown>, index: number): string {
  const kind = typeof obj.kind === 'string' && obj.kind !== '' ? obj.kind : `document ${String(index + 1)}`;
  const meta = obj.metadata;
  const name = isRecord(meta) && typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
  return name === undefined ? kind : `${kind}/${name}`;
}

/** Expands `kind: List` (what `kubectl get -o yaml` prints) into its items. */
function flatten(docs: readonly unknown[]): unknown[] {
  return docs.flatMap((d) =>
    isRecord(d) && typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items)
      ? flatten(d.items as unknown[])
      : [d],
  );
}

/** Why an object that is not an IPAddressPool nor an L2Advertisement is not carried over. */
function otherKind(apiVersion: string, kind: string, obj: Record<string, unknown>, issues: Issues): void {
  if (!apiVersion.startsWith(METALLB_GROUP)) {
    if (kind === 'ConfigMap' && isRecord(obj.data) && typeof obj.data.config === 'string') {
      issues.error(
        "not carried over: MetalLB's legacy ConfigMap (before v0.13); convert it to IPAddressPool and L2Advertisement objects first (MetalLB's configmaptocrs tool), then run meshlb migrate on those",
      );
    } else {
      issues.warning(
        `not carried over: not a MetalLB object (${apiVersion === '' ? 'no apiVersion' : apiVersion})`,
      );
    }
  } else if (METALLB_STATUS_KINDS.has(kind)) {
    issues.note('skipped: MetalLB writes it to report what it observed; meshlb keeps its own status');
  } else if (METALLB_BGP_KINDS.has(kind)) {
    issues.error('not carried over: meshlb has no BGP mode (layer 2 only)');
  } else if (kind === 'AddressPool') {
    issues.error(
      'not carried over: AddressPool was removed in MetalLB v0.14; write it as an IPAddressPool and an L2Advertisement first',
    );
  } else if (kind === 'IPAddressPool' || kind === 'L2Advertisement') {
    issues.error(`not carried over: ${apiVersion} is not supported, only ${METALLB_API_VERSION}`);
  } else {
    issues.error(`not carried over: unknown MetalLB kind ${kind}`);
  }
}

/**
 * Converts MetalLB objects (parsed YAML documents: IPAddressPools, L2Advertisements,
 * anything else, `kind: List` expanded) to meshlb's IPPools and L2Advertisements.
 * Every object that is not converted, and every field not carried over as it was, is
 * reported. Pools come first in the output, then advertisements, each in input order.
 */
export function migrate(docs: readonly unknown[]): MigrateResult {
  const findings: Finding[] = [];
  const pools: WrittenIPPool[] = [];
  const ads: WrittenL2Advertisement[] = [];
  /** Converted names per meshlb kind, with the MetalLB object each came from. */
  const taken = new Map<string, string>();
  const report = (subject: string, issues: Issues): void => {
    for (const i of issues.list) findings.push({ severity: i.severity, subject, message: i.message });
  };

  for (const [index, doc] of flatten(docs).entries()) {
    const issues = new Issues();
    if (!isRecord(doc)) {
      issues.error('not carried over: not a Kubernetes object');
      report(`document ${String(index + 1)}`, issues);
      continue;
    }
    const subject = subjectOf(doc, index);
    const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
    const kind = typeof doc.kind === 'string' ? doc.kind : '';
    if (apiVersion !== METALLB_API_VERSION || (kind !== 'IPAddressPool' && kind !== 'L2Advertisement')) {
      otherKind(apiVersion, kind, doc, issues);
      report(subject, issues);
      continue;
    }
    const source = convertMetadata(apiVersion, doc.metadata, issues);
    if (source !== undefined) {
      const target = kind === 'IPAddressPool' ? 'IPPool' : 'L2Advertisement';
      const key = `${target}/${source.name}`;
      const from = qualifiedName(source.namespace, source.name);
      const earlier = taken.get(key);
      if (earlier !== undefined) {
        issues.error(
          `metadata.name: ${target} ${source.name} is already written for ${earlier} (meshlb's kinds are cluster-scoped, so names must be unique across namespaces): rename one`,
        );
      } else if (kind === 'IPAddressPool') {
        const pool = convertPool(source, doc.spec, issues);
        if (pool !== undefined) pools.push(pool);
      } else {
        const ad = convertAdvertisement(source, doc.spec, issues);
        if (ad !== undefined) ads.push(ad);
      }
      if (earlier === undefined && !issues.failed) taken.set(key, from);
    }
    report(subject, issues);
  }

  const poolNames = new Set(pools.map((p) => p.metadata.name));
  for (const ad of ads) {
    const missing = (ad.spec.ipPools ?? []).filter((p) => !poolNames.has(p));
    if (missing.length > 0) {
      findings.push({
        severity: 'warning',
        subject: `L2Advertisement/${ad.metadata.name}`,
        message: `ipAddressPools: not among the converted pools: ${missing.join(', ')} (written anyway; meshlb advertises them once they exist)`,
      });
    }
  }
  if (pools.length > 0) {
    findings.push({
      severity: 'note',
      subject: 'Service/*',
      message:
        "Services need no change: meshlb reads MetalLB's annotations (metallb.io/ and metallb.universe.tf/ loadBalancerIPs, address-pool, allow-shared-ip)",
    });
  }
  const objects: MeshlbObject[] = [...pools, ...ads];
  return { objects, findings, failed: findings.some((f) => f.severity === 'error') };
}

/** One report line: `migrate: <subject>: <severity>: <message>`. */
export function formatFinding(f: Finding): string {
  return `migrate: ${f.subject}: ${f.severity}: ${f.message}`;
}
