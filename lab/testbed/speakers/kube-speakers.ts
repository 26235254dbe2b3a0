/**
 * Real `meshlb speaker` processes on a network-namespace LAN, registered with
 * a real API server as a cluster would have them: a Node per host (Ready, as
 * a kubelet would report it), a speaker Pod bound to it (no kubelet runs it:
 * the process is started here, inside the host), and the speaker
 * ServiceAccount's own token. For the cluster tests, `meshlb lab` and chaos.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { COMPONENT_LABEL, SPEAKER_COMPONENT } from '../../../src/kube/world/index.ts';
import type { Host, Lan } from '../netns/index.ts';
import { spawnGroup, type GroupChild } from '../process-group.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
export const SPEAKER_NAMESPACE = 'meshlb-system';
export const SPEAKER_SERVICE_ACCOUNT = 'meshlb-speaker';

/**
 * Creates the Node `name` with the host's addresses, Ready. The API server
 * taints a new Node `node.kubernetes.io/not-ready` (TaintNodesByCondition);
 * the node lifecycle controller, which does not run here, would lift it once
 * the Node is Ready: this does.
 */
export async function registerNode(admin: KubeConfig, host: Host, name = host.name): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } } } });
  await setNodeReady(admin, name, 'True', host);
  await core.patchNode(
    { name, body: { spec: { taints: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Writes the Node's Ready condition (and addresses) as its kubelet would. */
export async function setNodeReady(
  admin: KubeConfig,
  name: string,
  status: 'True' | 'False' | 'Unknown',
  host?: Host,
): Promise<void> {
  const now = new Date();
  await admin.makeApiClient(CoreV1Api).replaceNodeStatus({
    name,
    body: {
      metadata: { name },
      status: {
        conditions: [
          { type: 'Ready', status, reason: 'Lab', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
        ...(host === undefined
          ? {}
          : {
              addresses: [
                { type: 'InternalIP', address: host.ipv4 },
                { type: 'InternalIP', address: host.ipv6 },
                { type: 'Hostname', address: name },
              ],
            }),
      },
    },
  });
}

/** The speaker Pod of `node`, as the DaemonSet would create it (bound to the node). */
export async function createSpeakerPod(admin: KubeConfig, node: string): Promise<string> {
  const name = `meshlb-speaker-${node}`;
  await admin.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace: SPEAKER_NAMESPACE,
    body: {
      metadata: {
        name,
        labels: { [COMPONENT_LABEL]: SPEAKER_COMPONENT, 'app.kubernetes.io/name': 'meshlb' },
      },
      spec: {
        nodeName: node,
        hostNetwork: true,
        serviceAccountName: SPEAKER_SERVICE_ACCOUNT,
        automountServiceAccountToken: false,
        containers: [{ name: 'speaker', image: 'meshlb:lab' }],
      },
    },
  });
  return name;
}

/** A fresh mesh key file (64 hex characters, as the Secret holds it). */
export function writeMeshKey(dir: string): string {
  const file = join(dir, 'mesh-key');
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return file;
}

/**
 * A kubeconfig whose API server never answers (a closed port on 127.0.0.1):
 * for a speaker run on its own, without a cluster (benchmarks, CLI tests).
 */
export function writeUnreachableKubeconfig(dir: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
  );
  return file;
}

export interface SpeakerProcessOptions {
  lan: Lan;
  host: Host;
  /** Node name (default: the host's). */
  node?: string;
  pod: string;
  /** A kubeconfig file reaching the API server from inside the host (ApiAccess). */
  kubeconfig: string;
  meshKeyFile: string;
  /** Its log file (JSON lines). */
  log: string;
  /** More environment (MESHLB_* settings). */
  env?: Record<string, string>;
  /** The CLI to run (default: this tree's src/cli/main.ts; another release's, for mixed versions). */
  main?: string;
}

/**
 * The probes and debug endpoint (/readyz, /debug/*) of a speaker started here:
 * the lab serves it on the node's LAN address, port 7474, so its client can
 * read it (a cluster keeps it on 127.0.0.1, the default; docs/install.md).
 */
export const speakerHttp = (host: Host): string => `http://${host.ipv4}:7474`;
/** The metrics endpoint (/metrics) of a speaker started here. */
export const speakerMetricsHttp = (host: Host): string => `http://${host.ipv4}:7475`;
/** A speaker URL for `path` on `host`: /metrics on the metrics port, the rest on the other. */
export const speakerUrlOf = (host: Host, path: string): string =>
  `${path === '/metrics' ? speakerMetricsHttp(host) : speakerHttp(host)}${path}`;

/**
 * Extra Node flags for the lab's speaker processes, from MESHLB_LAB_NODE_ARGS
 * (space-separated): for profiling, e.g. `--prof` (V8's tick log, written as
 * it runs into the working directory; `node --prof-process` reads it), which
 * NODE_OPTIONS does not allow.
 */
const labNodeArgs = (): string[] => (process.env.MESHLB_LAB_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Starts `meshlb speaker` inside the host, as the DaemonSet's container would run it. */
export function startSpeakerProcess(o: SpeakerProcessOptions): GroupChild {
  const node = o.node ?? o.host.name;
  const argv = [
    'ip',
    'netns',
    'exec',
    o.host.ns,
    process.execPath,
    ...labNodeArgs(),
    o.main ?? MAIN,
    'speaker',
  ];
  return spawnGroup(argv, o.log, {
    ...process.env,
    KUBECONFIG: '',
    MESHLB_KUBECONFIG: o.kubeconfig,
    NODE_NAME: node,
    POD_NAME: o.pod,
    POD_NAMESPACE: SPEAKER_NAMESPACE,
    POD_IP: o.host.ipv4,
    MESHLB_MESH_KEY_FILE: o.meshKeyFile,
    MESHLB_INTERFACES: o.host.ifname,
    MESHLB_METRICS_ADDR: `${o.host.ipv4}:7475`,
    MESHLB_HEALTH_ADDR: `${o.host.ipv4}:7474`,
    MESHLB_CONFIG: '/dev/null',
    ...o.env,
  });
}
