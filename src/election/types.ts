import type { MemberState } from '../mesh/messages.ts';

/** A Kubernetes label selector (matchLabels AND every matchExpression). Empty selects everything. */
export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: readonly string[];
  }[];
}

/** What the election needs to know of a Node (from the API server). */
export interface NodeView {
  name: string;
  /** The Ready condition's status. */
  ready: 'True' | 'False' | 'Unknown';
  /** NetworkUnavailable=True. */
  networkUnavailable: boolean;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  /** spec.unschedulable (cordoned). */
  unschedulable: boolean;
  /** Keys of the Node's taints. */
  taints: readonly string[];
  labels: Readonly<Record<string, string>>;
}

/** An L2Advertisement, as the election sees it. */
export interface Advertisement {
  name: string;
  /** Pools it advertises. */
  pools: readonly string[];
  /** Nodes it applies to: any selector matching is enough; none means every node. */
  nodeSelectors: readonly LabelSelector[];
  /** Interfaces to answer on; empty means every interface. */
  interfaces: readonly string[];
  /** What a cordoned node does: keep announcing (default) or hand its IPs off. */
  cordon: 'keep' | 'hand-off';
  /** Move an IP back to its best-ranked node when that node returns (default off: sticky). */
  failback: boolean;
}

/** One service IP to announce (Services sharing an IP appear once). */
export interface ServiceIp {
  ip: string;
  pool: string;
  /**
   * With externalTrafficPolicy: Local, the nodes with a ready endpoint of a
   * Service on this IP (while none has, a terminating one that serves:
   * kube/world/endpoints.ts); undefined for the Cluster policy.
   */
  localEndpointNodes?: ReadonlySet<string>;
  /**
   * The IPs of one Service and family when it has several
   * (`meshlb.io/address-count`): placed on distinct nodes while there are
   * enough (balance.ts). Undefined for a Service's only IP of a family.
   */
  group?: string;
}

/** "Node `node` announces `ip`", published on the mesh; `epoch` rises with every change of announcer. */
export interface Claim {
  ip: string;
  node: string;
  epoch: number;
}

/** Everything one decision depends on: identical inputs give identical decisions on every node. */
export interface World {
  nodes: ReadonlyMap<string, NodeView>;
  /** Mesh state of each speaker, by node name. */
  members: ReadonlyMap<string, MemberState>;
  advertisements: readonly Advertisement[];
  ips: readonly ServiceIp[];
  /** The current claim for each IP (after conflict resolution). */
  claims: ReadonlyMap<string, Claim>;
  /**
   * The load bound (balance.ts): no node announces more than
   * (1 + slack) times the even share of the eligible nodes (loadCap) while another may take one.
   * Undefined: the bound is off (sticky rendezvous alone). Every speaker must
   * use the same slack, or their decisions differ.
   */
  balance?: { slack: number };
}
