import type { LabelSelector } from '../../election/index.ts';
import type { AddressRange, Family } from '../../ip/index.ts';
import type { FailureReason, IgnoredReason } from './reasons.ts';

/** An IPPool as the allocator sees it (the controller maps the CRD onto this). */
export interface PoolView {
  name: string;
  /** Parsed address entries (`parseAddressEntry` of src/ip); may mix families. */
  addresses: readonly AddressRange[];
  /** Hand out addresses to Services that name neither this pool nor one of its IPs. */
  autoAssign: boolean;
  /** Skip IPv4 addresses ending in .0 or .255. */
  avoidBuggyIPs: boolean;
  /** Lower is preferred (as MetalLB); pools without one come after all pools with one; ties by name. */
  priority?: number | undefined;
  /** Namespaces admitted by name; with `namespaceSelectors`, either admits. Both empty: every namespace. */
  namespaces: readonly string[];
  namespaceSelectors: readonly LabelSelector[];
  /** Services admitted by their labels (any selector); empty: every Service. */
  serviceSelectors: readonly LabelSelector[];
  /** metadata.creationTimestamp in ms (creation order: the later of two overlapping pools is refused). */
  creationTimestamp: number;
}

export type IpFamilyName = 'IPv4' | 'IPv6';
export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  /** TCP (the Kubernetes default), UDP or SCTP. */
  protocol: string;
  port: number;
}

/** A Service as the controller sees it. */
export interface ServiceView {
  namespace: string;
  name: string;
  uid: string;
  /** metadata.creationTimestamp in ms: older Services win conflicts (then the lower uid). */
  creationTimestamp: number;
  labels: Readonly<Record<string, string>>;
  /** Labels of the Service's Namespace (for namespace selectors). */
  namespaceLabels: Readonly<Record<string, string>>;
  /** metadata.annotations (requested IPs, pool and sharing key are read from them). */
  annotations: Readonly<Record<string, string>>;
  /** spec.type. */
  type: string;
  loadBalancerClass?: string | undefined;
  /** spec.ipFamilies as the API server resolved them (primary first). Empty: IPv4. */
  ipFamilies: readonly IpFamilyName[];
  /** spec.ipFamilyPolicy; absent means SingleStack. */
  ipFamilyPolicy?: IpFamilyPolicy | undefined;
  ports: readonly ServicePort[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** spec.loadBalancerIP (deprecated field). */
  loadBalancerIP?: string | undefined;
  /**
   * status.loadBalancer.ingress[].ip — only when meshlb owns that status (its field
   * manager wrote it); empty otherwise. The allocator never takes an IP from a status
   * another controller wrote.
   */
  currentIPs: readonly string[];
}

/** One address a Service holds. */
export interface Assignment {
  /** Canonical text. */
  ip: string;
  family: Family;
  /** The pool whose usable addresses contain it; null when none does any more (outside-pool). */
  pool: string | null;
}

/** The allocator's answer for one Service. Every kind says which IPs it stopped holding. */
export type Decision =
  | {
      kind: 'assigned';
      /** Canonical IPs for status.loadBalancer.ingress, primary family first (or the status order when unchanged). */
      ips: readonly string[];
      /** Pool of the first in-pool IP; null when every IP is outside the pools. */
      pool: string | null;
      assignments: readonly Assignment[];
      /** The IPs equal the Service's current status: the controller writes nothing. */
      unchanged: boolean;
      /** Kept IPs no pool contains any more (pool shrunk or deleted): reported, never pulled. */
      outsidePool: readonly string[];
      /** PreferDualStack got fewer families than it wanted: these are missing. */
      missingFamilies: readonly IpFamilyName[];
      /** IPs this Service held before and no longer holds (free for others now). */
      released: readonly string[];
    }
  | { kind: 'ignored'; reason: IgnoredReason; released: readonly string[] }
  | {
      kind: 'failed';
      reason: FailureReason;
      message: string;
      /**
       * IPs the Service still holds: a failure never takes an address away (the
       * controller leaves the status as it is and records an Event), except one
       * whose sharing the Service itself just broke, which is in `released`.
       */
      kept: readonly string[];
      released: readonly string[];
    };

/** Settings of the allocator. */
export interface AllocatorConfig {
  /** Serve only Services of this loadBalancerClass; unset: only Services without a class. */
  loadBalancerClass?: string | undefined;
  /**
   * Let Services of different namespaces share an IP by sharing key (MetalLB does).
   * Default false: a key is scoped to its namespace, so another tenant cannot attach
   * ports to your IP by guessing your key.
   */
  crossNamespaceSharing?: boolean | undefined;
}

/** Assigned and available usable addresses of one family of a pool. */
export interface FamilyCounts {
  assigned: bigint;
  available: bigint;
}

export interface PoolCounts {
  pool: string;
  ipv4: FamilyCounts;
  ipv6: FamilyCounts;
}

/** What `restore` did with the statuses it was given. */
export interface RestoreReport {
  /** Services that hold at least one IP after the restore. */
  restored: number;
  /** Restored IPs that no pool contains any more. */
  outsidePool: readonly { service: string; ip: string }[];
  /** Status IPs not restored: another, older Service holds the IP and does not share it. */
  conflicts: readonly { service: string; ip: string; heldBy: readonly string[] }[];
  /** Status entries that are not IPs, or a second IP of one family. */
  invalid: readonly { service: string; ip: string }[];
}
