import type { IPPoolSpec, L2AdvertisementSpec } from '../kube/api/index.ts';

/**
 * How bad a finding is. `error`: the object was not converted (nothing is written for
 * it). `warning`: it was converted, but something was changed or left out. `note`:
 * nothing was lost; worth knowing before applying.
 */
export type Severity = 'error' | 'warning' | 'note';

/** One line of the report: what happened to one input object (or document). */
export interface Finding {
  readonly severity: Severity;
  /** What it is about: `IPAddressPool/public`, `document 3`, `Service/*`. */
  readonly subject: string;
  /** What happened, starting with the field when there is one (`addresses[2]: …`). */
  readonly message: string;
}

/** The metadata `meshlb migrate` writes: name, the source's labels, one annotation. */
export interface WrittenMetadata {
  name: string;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * An IPPool as written (the write view: fields with a schema default are left out
 * unless the source set them).
 */
export interface WrittenIPPool {
  apiVersion: 'meshlb.io/v1alpha1';
  kind: 'IPPool';
  metadata: WrittenMetadata;
  spec: Omit<IPPoolSpec, 'autoAssign' | 'avoidBuggyIPs'> &
    Partial<Pick<IPPoolSpec, 'autoAssign' | 'avoidBuggyIPs'>>;
}

/** An L2Advertisement as written (cordonPolicy and failback left to their defaults). */
export interface WrittenL2Advertisement {
  apiVersion: 'meshlb.io/v1alpha1';
  kind: 'L2Advertisement';
  metadata: WrittenMetadata;
  spec: Omit<L2AdvertisementSpec, 'cordonPolicy' | 'failback'>;
}

/** A meshlb object as `meshlb migrate` writes it. */
export type MeshlbObject = WrittenIPPool | WrittenL2Advertisement;

/** What `migrate` returns: the converted objects, pools first, and the report. */
export interface MigrateResult {
  readonly objects: readonly MeshlbObject[];
  readonly findings: readonly Finding[];
  /** Some object could not be converted (a finding of severity `error`). */
  readonly failed: boolean;
}
