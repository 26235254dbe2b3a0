/**
 * Real backends for the lab's Services: a Deployment whose Pods answer HTTP
 * on the host network (port BACKEND_PORT), so that with a real kube-proxy a
 * client's connection goes client → Service IP → the announcing node's
 * kube-proxy → a backend Pod, as in a cluster. Host network keeps the lab free
 * of a cross-node Pod network: the endpoints are the nodes' own addresses.
 *
 * Each Pod runs the meshlb image's Node with a small server (no other image
 * is at hand without a registry) that answers `<node> <client address>`, so
 * the client sees which node served it and whether its own address arrived
 * (externalTrafficPolicy: Local keeps it; Cluster masquerades it). A Pod
 * being deleted keeps serving for BACKEND_DRAIN_MS before its SIGTERM (a
 * preStop sleep, the usual way to let load balancers move off first), and
 * exits on it.
 */
import { AppsV1Api } from '@kubernetes/client-node';
import { poll } from '../poll.ts';
import { createLabNamespace, LAB_NAMESPACE } from '../lab/services.ts';
import type { KubeletCluster } from './cluster.ts';
import { MESHLB_IMAGE_REF } from './images.ts';

export const BACKEND_PORT = 8080;
/** How long a terminating backend keeps serving: its preStop sleep. */
export const BACKEND_DRAIN_MS = 5_000;
/** The node label that lets a Deployment's Pods onto a node: `lab.meshlb.io/backends=<deployment>`. */
export const BACKEND_NODE_LABEL = 'lab.meshlb.io/backends';

/** Thrown when the backends do not become ready; says what the Deployment reports. */
export class BackendsError extends Error {
  override readonly name = 'BackendsError';
}

const SERVER = `
const http = require('node:http');
const node = process.env.NODE_NAME ?? 'unknown';
http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(node + ' ' + String(req.socket.remoteAddress).replace(/^::ffff:/, '') + '\\n');
  })
  .listen({ port: ${BACKEND_PORT}, host: '::', ipv6Only: false });
// PID 1 ignores a signal it has no handler for.
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Creates Deployment `name` in the lab namespace with `replicas` Pods, on the
 * nodes `nodes` only (labelled for it); one Pod per node (the host port).
 * Rolling updates replace one Pod at a time without a surge (no free node may
 * be left for one). Resolves once every replica is available.
 */
export async function createBackends(
  c: KubeletCluster,
  name: string,
  nodes: readonly string[],
  timeoutMs = 120_000,
): Promise<void> {
  for (const node of nodes) {
    const r = await c.cp.kubectl(['label', 'node', node, `${BACKEND_NODE_LABEL}=${name}`, '--overwrite']);
    if (r.code !== 0) throw new BackendsError(`kubectl label node ${node}: ${r.stderr}`);
  }
  await createLabNamespace(c.cp);
  const labels = { app: name };
  const apps = c.cp.kubeConfig.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: LAB_NAMESPACE,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: nodes.length,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            nodeSelector: { [BACKEND_NODE_LABEL]: name },
            terminationGracePeriodSeconds: 15,
            containers: [
              {
                name: 'http',
                image: MESHLB_IMAGE_REF,
                imagePullPolicy: 'Never',
                command: ['/usr/local/bin/node', '-e', SERVER],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                ports: [{ name: 'http', containerPort: BACKEND_PORT, hostPort: BACKEND_PORT }],
                readinessProbe: { httpGet: { path: '/', port: BACKEND_PORT }, periodSeconds: 1 },
                lifecycle: { preStop: { sleep: { seconds: BACKEND_DRAIN_MS / 1_000 } } },
              },
            ],
          },
        },
      },
    },
  });
  await waitBackends(c, name, timeoutMs);
}

/** Whether Deployment `name` has rolled out: every replica updated and available, no old one left. */
export async function backendsRolledOut(c: KubeletCluster, name: string): Promise<boolean> {
  const d = await c.cp.kubeConfig
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ namespace: LAB_NAMESPACE, name });
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 0;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    s.updatedReplicas === want &&
    s.availableReplicas === want &&
    (s.replicas ?? 0) === want
  );
}

/** Waits until Deployment `name` has rolled out (backendsRolledOut). */
export async function waitBackends(c: KubeletCluster, name: string, timeoutMs: number): Promise<void> {
  if ((await poll(() => backendsRolledOut(c, name), timeoutMs, 250)) === undefined) {
    const d = await c.cp.kubeConfig
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: LAB_NAMESPACE, name })
      .catch(() => undefined);
    const { conditions, ...counts } = d?.status ?? {};
    throw new BackendsError(
      `backends ${name} not rolled out in ${timeoutMs} ms: ${JSON.stringify(counts)}; ${(conditions ?? []).map((x) => `${x.type}=${x.status}: ${x.message ?? ''}`).join('; ')}`,
    );
  }
}
