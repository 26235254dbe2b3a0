/**
 * The controller's IP allocator: a pure core (no I/O, no clock). Rules in docs/allocation.md.
 * Address text and pool entries (`parseIp`, `formatIp`, `parseAddressEntry`) are src/ip's.
 */
export { Allocator } from './allocator.ts';
export { assignmentOrder, compareAge, serviceKey } from './order.ts';
export type { AddressRange, Family } from '../../ip/index.ts';
export { countBuggy, isBuggyIp } from './ip.ts';
export { comparePools, findOverlaps, mergeRanges, partitionPools, type PoolOverlap } from './pools.ts';
export { FAILURES, IGNORED, type FailureReason, type IgnoredReason } from './reasons.ts';
export {
  ANNOTATIONS,
  readIntent,
  requestedIpsText,
  sharingKeyOf,
  type Intent,
  type IntentResult,
  type RequestSource,
} from './request.ts';
export type {
  AllocatorConfig,
  Assignment,
  Decision,
  FamilyCounts,
  IpFamilyName,
  IpFamilyPolicy,
  PoolCounts,
  PoolView,
  RestoreReport,
  ServicePort,
  ServiceView,
} from './types.ts';
