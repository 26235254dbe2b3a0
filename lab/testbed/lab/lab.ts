import type { ControlPlane } from '../controlplane/index.ts';
import type { Host, Lan } from '../netns/index.ts';
import type { HttpAgent } from './probes.ts';

export interface LabService {
  name: string;
  /** Assigned addresses, IPv4 first. */
  ips: string[];
}

/**
 * What `meshlb lab` and the client-side measurements (lab/chaos/measure.ts)
 * use of a lab, whichever runs it: ClusterLab (the speakers as processes
 * beside stand-in kubelets) or KubeletLab (meshlb's image on real kubelets).
 */
export interface Lab {
  /** 'kubelets' or 'processes': how the speakers run. */
  readonly kind: 'kubelets' | 'processes';
  readonly cp: ControlPlane;
  readonly lan: Lan;
  /** Where the logs are. */
  readonly dir: string;
  readonly nodes: readonly Host[];
  readonly client: Host;
  readonly services: readonly LabService[];
  /** GETs from the client host. */
  readonly http: HttpAgent;
  node(name: string): Host;
  /** A speaker's endpoint (/readyz, /debug/summary, /metrics), as the client reaches it. */
  speakerUrl(node: string, path: string): string;
  /** The node whose MAC this is. */
  nodeOfMac(mac: string): string | undefined;
  /** How long ago the youngest speaker process started (ms). */
  youngestSpeakerMs(): number;
  /** How the node's speaker exited, or undefined while it runs. */
  speakerExited(node: string): string | undefined;
  /** Sends a signal to the node's speaker process; SIGKILL / SIGTERM wait for it to exit. */
  signalSpeaker(node: string, signal: NodeJS.Signals): Promise<string | undefined>;
  /** Brings an exited speaker back (a process lab starts it; on kubelets the kubelet does). */
  reviveSpeaker(node: string): void;
  /** The node's cable pulled (it loses the API server too), and put back. */
  cutLink(node: string): Promise<void>;
  restoreLink(node: string): Promise<void>;
  /** NotReady (and Ready again): a stand-in's status write, or the real kubelet stopped and started. */
  setReady(node: string, ready: boolean): Promise<void>;
  cordon(node: string, on: boolean): Promise<void>;
  partition(a: readonly string[], b: readonly string[]): Promise<void>;
  heal(): Promise<void>;
  stop(): Promise<void>;
}
