import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeClient, loadKubeconfigFile } from '../../../src/kube/client/index.ts';
import { onExit } from '../cleanup.ts';
import { run, type ExecResult } from '../exec.ts';
import { freePort } from '../ports.ts';
import { killGroup, spawnGroup, tail, type GroupChild } from '../process-group.ts';
import { controlPlaneBinaries } from './binaries.ts';
import { ControlPlaneStartError } from './errors.ts';
import { httpsStatus, type TlsFiles } from './https-probe.ts';
import { createPki, type Pki } from './pki.ts';
import { sweepStaleControlPlanes, WORKDIR_PREFIX } from './sweep.ts';

export interface ControlPlaneOptions {
  /** Deadline for etcd and kube-apiserver to become ready (default 90 s: two cold starts on a busy 2-core machine). */
  readyTimeoutMs?: number;
  /** Progress lines for a person (the lab prints them). */
  onProgress?: (line: string) => void;
  /** Give Services an IPv6 ClusterIP range too, so dual-stack Services exist (the lab). Default false. */
  dualStack?: boolean;
  /**
   * More IP addresses the API server's certificate is valid for: where a
   * relay makes it reachable (the kubelet lab's Pods reach it at their
   * bridge's gateway).
   */
  extraSans?: readonly string[];
  /**
   * Write an audit log (JSON lines, Metadata level) of writes to Services and
   * their status: what the controller benchmark times from (AUDIT_POLICY).
   */
  audit?: boolean;
}

/** Writes to Services and their status, at Metadata level (timestamps, user, verb); nothing else. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    verbs: [create, update, patch]
    resources: [{ group: "", resources: [services, services/status] }]
  - level: None
`;

/** The Pod a ServiceAccount token is bound to. */
export interface BoundPod {
  name: string;
  uid: string;
}

/** A running etcd + kube-apiserver on 127.0.0.1, with an admin kubeconfig. */
export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly kubeconfigPath: string;
  /** The audit log, when started with `audit: true`. */
  readonly auditLogPath: string | undefined;
  /** Admin (system:masters) credentials, for client-node (the tests' and the lab's own requests). */
  readonly kubeConfig: KubeConfig;
  /** The same credentials as meshlb's own client (what the product's classes take). */
  readonly kube: KubeClient;
  readonly workDir: string;
  readonly binDir: string;
  /** The CA, the serving and admin certificates, the service-account keys (kube-controller-manager needs them). */
  readonly pki: Pki;
  /** Creates a namespace with a unique name starting with prefix; returns its name. */
  newNamespace(prefix?: string): Promise<string>;
  /**
   * A TokenRequest token for a ServiceAccount (created if missing: no
   * controller-manager runs here); bound to `pod` when given, as the token a
   * kubelet projects into that Pod (its name and uid in the request's userInfo.extra).
   */
  tokenFor(namespace: string, serviceAccount: string, pod?: BoundPod): Promise<string>;
  /** A KubeConfig that authenticates as that ServiceAccount (bound to `pod` when given). */
  kubeConfigFor(namespace: string, serviceAccount: string, pod?: BoundPod): Promise<KubeConfig>;
  /** Runs kubectl with the admin kubeconfig; never throws on a non-zero exit. */
  kubectl(args: readonly string[]): Promise<ExecResult>;
  /** Stops both processes and removes the work dir; idempotent. */
  stop(): Promise<void>;
}

const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_CIDR6 = 'fd00:10:96::/112';

async function waitReady(child: GroupChild, url: string, tls: TlsFiles, what: string, deadline: number) {
  for (;;) {
    const status = await httpsStatus(url, tls);
    if (status === 200) return;
    const exited = child.exited();
    if (exited !== undefined) {
      throw new ControlPlaneStartError(
        `${what} exited (${exited}) before it was ready; its log ends:\n${tail(child.log)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ControlPlaneStartError(
        `${what} not ready at ${url} in time (last status ${status}); its log ends:\n${tail(child.log)}`,
      );
    }
    await delay(100);
  }
}

/** A kubeconfig that authenticates with a client certificate (the admin's; a kubelet's). */
export function certKubeconfigYaml(
  server: string,
  files: { ca: string; cert: string; key: string },
  user = 'admin',
): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: meshlb-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${files.ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate: ${files.cert}`,
    `    client-key: ${files.key}`,
    'contexts:',
    `- name: ${user}`,
    `  context: {cluster: meshlb-test, user: ${user}}`,
    `current-context: ${user}`,
    '',
  ].join('\n');
}

function etcdArgs(bin: string, dir: string, pki: Pki, client: number, peer: number): string[] {
  const clientUrl = `https://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  return [
    join(bin, 'etcd'),
    '--name=meshlb',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=meshlb=${peerUrl}`,
    `--cert-file=${pki.serverCert}`,
    `--key-file=${pki.serverKey}`,
    `--trusted-ca-file=${pki.caCert}`,
    '--client-cert-auth',
    // Test data is thrown away: skip fsync (much faster on a shared disk).
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

function apiserverArgs(
  bin: string,
  dir: string,
  pki: Pki,
  etcdPort: number,
  port: number,
  dualStack: boolean,
  audit: boolean,
): string[] {
  const auditArgs = audit
    ? [
        `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${join(dir, 'audit.log')}`,
        '--audit-log-maxsize=0',
      ]
    : [];
  return [
    join(bin, 'kube-apiserver'),
    `--etcd-servers=https://127.0.0.1:${etcdPort}`,
    `--etcd-cafile=${pki.caCert}`,
    `--etcd-certfile=${pki.serverCert}`,
    `--etcd-keyfile=${pki.serverKey}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=Node,RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPublicKey}`,
    `--service-account-signing-key-file=${pki.saPrivateKey}`,
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${dualStack ? `${SERVICE_CIDR},${SERVICE_CIDR6}` : SERVICE_CIDR}`,
    '--allow-privileged=true',
    // Kubelets register their LAN address as InternalIP (no DNS for node names here).
    '--kubelet-preferred-address-types=InternalIP',
    '--profiling=false',
    // One tenant, short tests: API priority and fairness only costs CPU here.
    '--enable-priority-and-fairness=false',
    '--v=0',
    ...auditArgs,
  ];
}

/**
 * Starts etcd and kube-apiserver on free loopback ports with TLS, RBAC, a
 * service-account issuer and an admin client certificate, and waits until
 * /readyz answers. Everything lives in one work dir under the temp dir and is
 * removed by stop(), at process exit or interruption, or — after a SIGKILL —
 * by the next start's sweep.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const progress = opts.onProgress ?? (() => undefined);
  sweepStaleControlPlanes();
  const binDir = await controlPlaneBinaries();
  const dir = mkdtempSync(join(tmpdir(), `${WORKDIR_PREFIX}${process.pid}-`));
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const children: GroupChild[] = [];
  const killAll = (signal: NodeJS.Signals): void => {
    for (const c of children) if (c.exited() === undefined) killGroup(c.pid, signal);
  };
  const unregister = onExit(() => {
    killAll('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of children) c.ref();
    // Nothing here is worth a graceful shutdown (kube-apiserver drains for
    // seconds on SIGTERM) and the data dir is deleted next.
    killAll('SIGKILL');
    await Promise.all(children.map((c) => c.done));
    rmSync(dir, { recursive: true, force: true });
    unregister();
  };
  const launch = (argv: string[], name: string): GroupChild => {
    const child = spawnGroup(argv, join(dir, `${name}.log`));
    children.push(child);
    appendFileSync(join(dir, 'pids'), `${child.pid}\n`);
    return child;
  };

  try {
    const started = Date.now();
    const deadline = started + (opts.readyTimeoutMs ?? 90_000);
    const pki = await createPki(dir, opts.extraSans);
    const admin: TlsFiles = { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    progress(`starting etcd on 127.0.0.1:${etcdPort}`);
    const etcd = launch(etcdArgs(binDir, dir, pki, etcdPort, peerPort), 'etcd');
    await waitReady(etcd, `https://127.0.0.1:${etcdPort}/health`, admin, 'etcd', deadline);
    progress(`starting kube-apiserver on 127.0.0.1:${apiPort}`);
    if (opts.audit === true) writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
    const api = launch(
      apiserverArgs(binDir, dir, pki, etcdPort, apiPort, opts.dualStack === true, opts.audit === true),
      'kube-apiserver',
    );
    const server = `https://127.0.0.1:${apiPort}`;
    await waitReady(api, `${server}/readyz`, admin, 'kube-apiserver', deadline);
    progress(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(
      kubeconfigPath,
      certKubeconfigYaml(server, { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey }),
    );
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);

    const tokenFor = async (namespace: string, serviceAccount: string, pod?: BoundPod): Promise<string> => {
      try {
        await core.createNamespacedServiceAccount({
          namespace,
          body: { metadata: { name: serviceAccount } },
        });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
      const tr = await core.createNamespacedServiceAccountToken({
        name: serviceAccount,
        namespace,
        body: {
          spec: {
            audiences: [],
            expirationSeconds: 3600,
            ...(pod === undefined ? {} : { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', ...pod } }),
          },
        },
      });
      const token = tr.status?.token;
      if (token === undefined)
        throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
      return token;
    };

    return {
      server,
      kubeconfigPath,
      auditLogPath: opts.audit === true ? join(dir, 'audit.log') : undefined,
      kubeConfig,
      kube: new KubeClient(loadKubeconfigFile(kubeconfigPath)),
      workDir: dir,
      binDir,
      pki,
      async newNamespace(prefix = 'test') {
        const name = `${prefix}-${randomBytes(4).toString('hex')}`;
        await core.createNamespace({ body: { metadata: { name } } });
        return name;
      },
      tokenFor,
      async kubeConfigFor(namespace, serviceAccount, pod) {
        const token = await tokenFor(namespace, serviceAccount, pod);
        const kc = new KubeConfig();
        kc.loadFromOptions({
          clusters: [{ name: 'meshlb-test', server, caFile: pki.caCert }],
          users: [{ name: serviceAccount, token }],
          contexts: [{ name: 'sa', cluster: 'meshlb-test', user: serviceAccount }],
          currentContext: 'sa',
        });
        return kc;
      },
      kubectl: (args) => run([join(binDir, 'kubectl'), `--kubeconfig=${kubeconfigPath}`, ...args]),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
