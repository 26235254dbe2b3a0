import type { LocalTrafficResult } from './local-traffic.ts';

/** What the metrics module counts of the speaker's own decisions (src/metrics SpeakerMetrics). */
export interface SpeakerObserver {
  announced(byFamily: { ipv4: number; ipv6: number }): void;
  /** Started announcing an IP (the cause of the decision: election/decide.ts). */
  failover(cause: 'takeover' | 'failback' | 'fresh' | 'rebalance'): void;
  withdrawn(): void;
  decisions(durationSeconds: number): void;
  kernelAnswered(ips: number): void;
  /** A take of a Local Service's IP that asked this node's kube-proxy first (local-traffic.ts). */
  localTrafficWait(result: LocalTrafficResult, seconds: number): void;
}
