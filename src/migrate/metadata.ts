import { MIGRATED_FROM_ANNOTATION, SILENTLY_DROPPED_ANNOTATIONS } from './constants.ts';
import { isRecord, show, type Issues } from './issues.ts';
import type { WrittenMetadata } from './types.ts';

/** The source object's identity: where it came from, and the metadata to write. */
export interface Source {
  readonly name: string;
  /** The MetalLB object's namespace ('' when the input gave none). */
  readonly namespace: string;
  readonly metadata: WrittenMetadata;
}

/** `namespace/name`, or `name` without a namespace. */
export function qualifiedName(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

/**
 * Keeps the name and the labels (selectors may target them); drops the namespace
 * (meshlb's kinds are cluster-scoped) and the annotations (reported, but for
 * kubectl's own), and adds `meshlb.io/migrated-from`. Everything else in metadata is
 * written by the API server (uid, resourceVersion, managedFields, …) and dropped.
 */
export function convertMetadata(apiVersion: string, value: unknown, issues: Issues): Source | undefined {
  if (!isRecord(value) || typeof value.name !== 'string' || value.name === '') {
    issues.error('metadata.name: missing');
    return undefined;
  }
  const name = value.name;
  const namespace = typeof value.namespace === 'string' ? value.namespace : '';
  const metadata: WrittenMetadata = {
    name,
    annotations: { [MIGRATED_FROM_ANNOTATION]: `${apiVersion} ${qualifiedName(namespace, name)}` },
  };
  const { labels, annotations, ownerReferences, finalizers } = value;
  if (labels !== undefined && labels !== null) {
    if (!isRecord(labels) || !Object.values(labels).every((v) => typeof v === 'string')) {
      issues.error(`metadata.labels: must map keys to strings, got ${show(labels)}`);
      return undefined;
    }
    if (Object.keys(labels).length > 0) metadata.labels = { ...(labels as Record<string, string>) };
  }
  if (isRecord(annotations)) {
    const dropped = Object.keys(annotations).filter((k) => !SILENTLY_DROPPED_ANNOTATIONS.has(k));
    if (dropped.length > 0) issues.warning(`metadata.annotations: left out: ${dropped.join(', ')}`);
  }
  if (Array.isArray(ownerReferences) && ownerReferences.length > 0)
    issues.warning(
      'metadata.ownerReferences: left out (owners in a namespace cannot own a cluster-scoped object)',
    );
  if (Array.isArray(finalizers) && finalizers.length > 0)
    issues.warning(`metadata.finalizers: left out: ${finalizers.map((f) => String(f)).join(', ')}`);
  return { name, namespace, metadata };
}
