/** What a Speaker is built from (speaker.ts): the settings.ts results, the clients, the identity. */
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from 'pino';
import type { WireConfig } from '../arp/index.ts';
import type { Clock } from '../clock/index.ts';
import type { IsolationConfig } from '../election/index.ts';
import type { KubeClient } from '../kube/client/index.ts';
import type { MeshConfig, WatchConfig } from '../mesh/index.ts';
import type { SpeakerObserver } from './observer.ts';

export interface SpeakerInit {
  kube: KubeClient;
  clock: Clock;
  log: Logger;
  nodeName: string;
  podName: string;
  /** Namespace of the speaker Pods. */
  namespace: string;
  meshAddress: string;
  meshPort: number;
  /**
   * The pulse's UDP port, the same on every node (mesh/pulse.ts); undefined
   * or 0: no pulse (heirs check instead). Several speakers on one address
   * (tests on loopback) cannot share one port: they run without.
   */
  pulsePort?: number;
  networkKey: Uint8Array;
  /** The libp2p identity (loadPeerKey: kept on the node across restarts). */
  privateKey: PrivateKey;
  mesh: MeshConfig;
  watch: WatchConfig;
  wire: WireConfig;
  interfaces: readonly string[];
  handoffTimeoutMs: number;
  /**
   * Before taking the IP of an externalTrafficPolicy: Local Service, wait at
   * most this long for this node's kube-proxy to report the Service's local
   * endpoint (local-traffic.ts); 0: take at once. Default LOCAL_TRAFFIC_WAIT_MS.
   */
  localTrafficWaitMs?: number;
  /**
   * The load bound's slack ε (election/balance.ts): no node announces more
   * than (1 + ε) times its even share (election/balance.ts: loadCap) while another may take one.
   * 'off': sticky rendezvous alone. Every speaker must use the same value.
   * Default BALANCE_SLACK.
   */
  balanceSlack?: number | 'off';
  /** At most one rebalancing take per this many ms (rebalance.ts). Default REBALANCE_INTERVAL_MS. */
  rebalanceIntervalMs?: number;
  observer?: SpeakerObserver;
  /** The isolation rule's settings (election/isolation.ts; default grace 3 s). */
  isolation?: Partial<IsolationConfig>;
  /** Publishing the identity on the Pod: first retry after this, doubling to 30 s (tests shorten it). */
  identityRetryMs?: number;
  /**
   * The speaker's directory on the node (--state-dir): the view of the cluster
   * is saved there (saved-view.ts) and restored at a start that finds the API
   * server unreachable, so a restarted speaker rejoins the mesh without it.
   */
  stateDir?: string;
}
