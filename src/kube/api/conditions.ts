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

/** Condition types of an L2Advertisement's status (written by the controller). */
export const L2ADVERTISEMENT_CONDITIONS = {
  /** True when its nodeSelectors select at least one node that runs a speaker. */
  NodesSelected: 'NodesSelected',
  /**
   * True when every interface it names is one a speaker on a selected node
   * answers on (or it names none); Unknown while no selected speaker has said
   * which interfaces it answers on.
   */
  InterfacesFound: 'InterfacesFound',
  /** Both of the above: the advertisement can be answered somewhere. */
  Ready: 'Ready',
} as const;

export const L2ADVERTISEMENT_REASONS = {
  NodesMatch: 'NodesMatch',
  NoNodeMatches: 'NoNodeMatches',
  NoSpeakerOnSelectedNodes: 'NoSpeakerOnSelectedNodes',
  EveryInterface: 'EveryInterface',
  AllInterfacesFound: 'AllInterfacesFound',
  InterfacesMissing: 'InterfacesMissing',
  InterfacesNotReported: 'InterfacesNotReported',
  Answerable: 'Answerable',
} as const;
