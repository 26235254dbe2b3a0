/**
 * Why the allocator gave a Service no (new) address. Stable CamelCase codes: the
 * controller uses them as Kubernetes Event reasons and metric labels, so do not rename.
 * Details (which IP, which pool, which Service holds it) go in the decision's message.
 */
export const FAILURES = {
  InvalidRequest:
    'the request cannot be read: an unparseable IP, two IPs of one family, a family the Service does not have, or the wrong number of IPs for its ipFamilyPolicy',
  PoolNotFound: 'the requested address pool does not exist',
  PoolNotAllowed: "the pool's namespaces, namespace selectors or service selectors do not admit this Service",
  NoMatchingPool:
    'no pool admits this Service and assigns automatically, or none has addresses of its family',
  RequestedIPOutsidePools: 'a requested IP is not a usable address of any pool that admits this Service',
  RequestedIPInUse:
    'a requested IP is held by another Service that does not share it (no common sharing key)',
  IncompatibleSharing:
    'a requested IP is held by Services with the same sharing key, but their ports overlap or their externalTrafficPolicy differs',
  DualStackUnavailable: 'RequireDualStack, but no admitting pool has addresses of both families',
  PoolExhausted: 'every admitting pool with addresses of the wanted family is full',
} as const;

export type FailureReason = keyof typeof FAILURES;

/** Why the allocator leaves a Service alone (and releases what it held). */
export const IGNORED = {
  NotLoadBalancer: 'the Service is not of type LoadBalancer',
  OtherClass: 'the Service names a loadBalancerClass this controller does not serve',
} as const;

export type IgnoredReason = keyof typeof IGNORED;
