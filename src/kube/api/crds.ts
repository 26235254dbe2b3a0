/**
 * meshlb's CustomResourceDefinitions: THE source of truth for the API. deploy/crds/*.yaml
 * and types.generated.ts are generated from these objects by scripts/gen-crds.ts, and
 * test/unit/kube-api-generated.test.ts fails when the committed files differ from a
 * fresh generation. Edit here (one file per kind: crd-ippool.ts, crd-l2advertisement.ts,
 * crd-serviceannouncement.ts; the shared field schemas in crd-fields.ts, the envelope in
 * crd-envelope.ts), then run `node scripts/gen-crds.ts`.
 *
 * Descriptions become the `kubectl explain` text and the TypeScript doc comments.
 */
import { ipPoolCrd } from './crd-ippool.ts';
import { l2AdvertisementCrd } from './crd-l2advertisement.ts';
import { serviceAnnouncementCrd } from './crd-serviceannouncement.ts';
import type { CustomResourceDefinition } from './schema.ts';

export { ipPoolCrd, l2AdvertisementCrd, serviceAnnouncementCrd };

/** Every meshlb CRD, in install order. */
export const CRDS: readonly CustomResourceDefinition[] = [
  ipPoolCrd,
  l2AdvertisementCrd,
  serviceAnnouncementCrd,
];
