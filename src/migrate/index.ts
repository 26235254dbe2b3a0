/**
 * MetalLB to meshlb: converts MetalLB's `IPAddressPool` and `L2Advertisement`
 * (`metallb.io/v1beta1`) to meshlb's `IPPool` and `L2Advertisement`
 * (`meshlb.io/v1alpha1`), and reports every object and field that is not carried over
 * as it was. Pure: text or parsed objects in, objects and findings out. The `meshlb
 * migrate` command (src/cli/migrate.ts) does the I/O; docs/migrate.md has the mapping.
 *
 *   const { docs, findings } = parseDocuments(text);
 *   const result = migrate(docs);
 *   process.stdout.write(formatDocuments(result.objects));
 *   for (const f of [...findings, ...result.findings]) console.error(formatFinding(f));
 */
export { migrate, formatFinding } from './migrate.ts';
export { parseDocuments, formatDocuments, type Parsed } from './yaml.ts';
export { normalizeEntry, coalesce, rangeText, type Entry } from './addresses.ts';
export { METALLB_API_VERSION, MIGRATED_FROM_ANNOTATION, LIMITS } from './constants.ts';
export type {
  Finding,
  MeshlbObject,
  MigrateResult,
  Severity,
  WrittenIPPool,
  WrittenL2Advertisement,
  WrittenMetadata,
} from './types.ts';
