/**
 * Why a node may not announce an IP. Stable codes: logs, metrics labels,
 * `meshlb explain` and the debug endpoint all use them.
 */
export const REASONS = {
  SpeakerNotMember: 'no meshlb speaker of this node is in the mesh',
  SpeakerDead: 'its speaker was declared dead by the mesh',
  SpeakerLeft: 'its speaker left the mesh (shutting down)',
  SpeakerSuspect: 'its speaker is suspected by the mesh (may keep an IP it holds, never takes one)',
  NodeNotFound: 'no Node object of this name',
  NodeNotReady: 'the Node is not Ready',
  NodeNetworkUnavailable: 'the Node has NetworkUnavailable=True',
  NodeDeleting: 'the Node is being deleted',
  NodeTaintUnreachable: 'the Node has the node.kubernetes.io/unreachable taint',
  NodeTaintNotReady: 'the Node has the node.kubernetes.io/not-ready taint',
  NodeTaintOutOfService: 'the Node has the node.kubernetes.io/out-of-service taint',
  NodeExcludedByLabel: 'the Node has the node.kubernetes.io/exclude-from-external-load-balancers label',
  NoAdvertisement: 'no L2Advertisement advertises the pool of this IP',
  NotSelectedByAdvertisement: "no L2Advertisement of this IP's pool selects this node",
  CordonedHandOff: 'the Node is cordoned and its L2Advertisement hands IPs off on cordon',
  NoLocalEndpoint: 'externalTrafficPolicy is Local and the node has no ready endpoint of the Service',
} as const;

export type Reason = keyof typeof REASONS;
