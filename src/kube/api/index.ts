/**
 * meshlb's Kubernetes API (`meshlb.io/v1alpha1`): the CRD definitions (the one source
 * of truth, crds.ts), the types generated from them, and pure helpers over them. See
 * docs/api.md.
 */
export { API_VERSION, GROUP, PLURALS, VERSION, type Kind } from './constants.ts';
export { CRDS, ipPoolCrd, l2AdvertisementCrd, serviceAnnouncementCrd } from './crds.ts';
export type { CustomResourceDefinition, PrinterColumn, Schema, ValidationRule } from './schema.ts';
export type * from './types.generated.ts';
export {
  familyBits,
  formatIp,
  InvalidAddressError,
  parseAddressEntry,
  parseIp,
  rangeSize,
  type AddressRange,
  type Family,
  type IpAddress,
} from '../../ip/index.ts';
export { toAdvertisement, type PoolRef } from './advertisement.ts';
export {
  IPPOOL_CONDITIONS,
  IPPOOL_REASONS,
  L2ADVERTISEMENT_CONDITIONS,
  L2ADVERTISEMENT_REASONS,
  type IPPoolConditionType,
} from './conditions.ts';
