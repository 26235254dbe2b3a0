/** The MetalLB API version whose kinds `meshlb migrate` converts. */
export const METALLB_API_VERSION = 'metallb.io/v1beta1';

/** The annotation every converted object carries: `metallb.io/v1beta1 <namespace>/<name>`. */
export const MIGRATED_FROM_ANNOTATION = 'meshlb.io/migrated-from';

/**
 * Limits of meshlb's schema (src/kube/api/crds.ts) that MetalLB does not have. The
 * converter checks them so that what it writes is accepted by the API server, and says
 * which limit an object breaks instead of leaving it to a `kubectl apply` error.
 */
export const LIMITS = {
  addresses: 32,
  namespaces: 64,
  namespaceLength: 63,
  selectors: 16,
  matchExpressions: 16,
  matchLabels: 32,
  labelValueLength: 63,
  labelKeyLength: 317,
  values: 64,
  ipPools: 64,
  poolNameLength: 253,
  interfaces: 32,
  interfaceLength: 15,
} as const;

/** MetalLB kinds that only hold what MetalLB observed: nothing to carry over. */
export const METALLB_STATUS_KINDS: ReadonlySet<string> = new Set([
  'ServiceL2Status',
  'ServiceBGPStatus',
  'ConfigurationState',
]);

/** MetalLB kinds of BGP mode, which meshlb does not have. */
export const METALLB_BGP_KINDS: ReadonlySet<string> = new Set([
  'BGPPeer',
  'BGPAdvertisement',
  'Community',
  'BFDProfile',
]);

/** Annotations dropped without a word: written by tools, not by people. */
export const SILENTLY_DROPPED_ANNOTATIONS: ReadonlySet<string> = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
]);
