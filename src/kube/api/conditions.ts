/**
 * Condition types and reasons the controller sets on IPPool status (metav1.Condition
 * shape; CamelCase). The schema accepts any well-formed type, so adding one here needs
 * no CRD change.
 */
export const IPPOOL_CONDITIONS = {
  /** True when every address entry parses and the pool can be allocated from. */
  Ready: 'Ready',
  /** True when the pool shares addresses with another pool; the message names it. */
  Overlapping: 'Overlapping',
  /**
   * True when Services hold addresses that are no longer in the pool (it shrank); they
   * keep them (a controller never moves an assigned IP) until they are released.
   */
  AddressesInUseOutsidePool: 'AddressesInUseOutsidePool',
} as const;

export type IPPoolConditionType = (typeof IPPOOL_CONDITIONS)[keyof typeof IPPOOL_CONDITIONS];

/** Reasons, one per cause, for those conditions. */
export const IPPOOL_REASONS = {
  Allocatable: 'Allocatable',
  InvalidAddresses: 'InvalidAddresses',
  OverlapsPool: 'OverlapsPool',
  NoOverlap: 'NoOverlap',
  PoolShrunk: 'PoolShrunk',
  AllAddressesInPool: 'AllAddressesInPool',
} as const;
