/**
 * Installs meshlb on a KubeletCluster the way docs/install.md tells users to:
 * the namespace, the mesh key Secret, then kustomize
 * (`kubectl apply --server-side -k`, an overlay of deploy/kustomize/overlays/default)
 * or Helm (`helm install … deploy/helm/meshlb`). The one lab-specific setting is
 * the API server's address for Pods (no kube-proxy runs here), given the way
 * install.md describes for such clusters. Then waits for the DaemonSet and the
 * Deployment to be rolled out, and on failure says why in the kubelet's words.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { run } from '../exec.ts';
import { poll } from '../poll.ts';
import type { KubeletCluster } from './cluster.ts';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
export const MESHLB_NAMESPACE = 'meshlb-system';
export const SPEAKER_DS = 'meshlb-speaker';
export const CONTROLLER_DEPLOYMENT = 'meshlb-controller';
/** The speaker container's command line as /proc/<pid>/cmdline has it (in part). */
export const SPEAKER_ARGV = '/app/src/cli/main.js\0speaker';

/** Thrown when an install step fails or the workloads do not become ready; the message has the kubelet's reasons. */
export class InstallError extends Error {
  override readonly name = 'InstallError';
}

export type InstallMethod = 'kustomize' | 'helm';

export interface InstallOptions {
  /** Extra environment for the speakers (MESHLB_* settings). */
  speakerEnv?: Record<string, string>;
  /** Helm binary (tools/helm/build.sh), for method 'helm'. */
  helm?: string;
}

const apiEnv = (c: KubeletCluster): { name: string; value: string }[] => [
  { name: 'KUBERNETES_SERVICE_HOST', value: c.apiHost },
  { name: 'KUBERNETES_SERVICE_PORT', value: String(c.apiPort) },
];

async function ok(
  what: string,
  r: Promise<{ code: number; stdout: string; stderr: string }>,
): Promise<string> {
  const res = await r;
  if (res.code !== 0)
    throw new InstallError(`${what} failed (exit ${res.code}): ${res.stderr.trim() || res.stdout.trim()}`);
  return res.stdout;
}

async function createNamespaceAndKey(c: KubeletCluster): Promise<void> {
  await ok('kubectl create namespace', c.cp.kubectl(['create', 'namespace', MESHLB_NAMESPACE]));
  await ok(
    'kubectl label namespace',
    c.cp.kubectl(['label', 'namespace', MESHLB_NAMESPACE, 'pod-security.kubernetes.io/enforce=privileged']),
  );
  const key = (await ok('openssl rand', run(['openssl', 'rand', '-hex', '32']))).trim();
  await ok(
    'kubectl create secret',
    c.cp.kubectl([
      '-n',
      MESHLB_NAMESPACE,
      'create',
      'secret',
      'generic',
      'meshlb-mesh-key',
      `--from-literal=key=${key}`,
    ]),
  );
}

/** The overlay a user with a cluster like the lab's writes (docs/install.md). */
export function labOverlay(
  dir: string,
  env: readonly { name: string; value: string }[],
  speakerEnv: Record<string, string>,
  stateDir: string,
): string {
  const base = relative(dir, join(DEPLOY, 'kustomize', 'overlays', 'default'));
  const envYaml = (list: readonly { name: string; value: string }[]): string =>
    list
      .map((e) => `                  - name: ${e.name}\n                    value: "${e.value}"`)
      .join('\n');
  const speaker = [...env, ...Object.entries(speakerEnv).map(([name, value]) => ({ name, value }))];
  const patch = (
    kind: string,
    name: string,
    container: string,
    list: readonly { name: string; value: string }[],
    volumes = '',
  ): string => `  - target:
      kind: ${kind}
      name: ${name}
    patch: |-
      apiVersion: apps/v1
      kind: ${kind}
      metadata:
        name: ${name}
      spec:
        template:
          spec:
            containers:
              - name: ${container}
                env:
${envYaml(list)}${volumes}`;
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${base}
patches:
${patch('DaemonSet', SPEAKER_DS, 'speaker', speaker, `\n            volumes:\n              - name: state\n                hostPath:\n                  path: ${stateDir}`)}
${patch('Deployment', CONTROLLER_DEPLOYMENT, 'controller', env)}
`;
}

/**
 * The speakers' state directory on the lab's machine, in place of the
 * DaemonSet's hostPath /var/lib/meshlb: the lab's nodes share one filesystem
 * (each keeps its own key in it, named by node) and leave nothing behind.
 */
const stateDir = (c: KubeletCluster): string => join(c.root, 'speaker-state');

/** Runs kubectl with `-k <the lab's overlay>` appended. */
async function withOverlay(
  c: KubeletCluster,
  speakerEnv: Record<string, string>,
  args: readonly string[],
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-overlay-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), labOverlay(dir, apiEnv(c), speakerEnv, stateDir(c)));
    return await ok(`kubectl ${args.join(' ')} -k`, c.cp.kubectl([...args, '-k', dir]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function installMeshlb(
  c: KubeletCluster,
  method: InstallMethod,
  opts: InstallOptions = {},
): Promise<void> {
  await createNamespaceAndKey(c);
  const env = apiEnv(c);
  // The lab's client reads /readyz and /debug/* over the LAN (lab.speakerUrl); a
  // cluster keeps them on 127.0.0.1, where the kubelet's probes still reach them
  // (kustomize: the overlay replaces the variable; Helm: speaker.healthHost).
  if (method === 'kustomize') {
    await withOverlay(c, { MESHLB_HEALTH_ADDR: ':7474', ...opts.speakerEnv }, ['apply', '--server-side']);
  } else {
    if (opts.helm === undefined) throw new InstallError('installMeshlb(helm): no helm binary given');
    const speakerExtraEnv = [
      ...env,
      ...Object.entries(opts.speakerEnv ?? {}).map(([name, value]) => ({ name, value })),
    ];
    await ok(
      'helm install',
      run(
        [
          opts.helm,
          'install',
          'meshlb',
          join(DEPLOY, 'helm', 'meshlb'),
          '--namespace',
          MESHLB_NAMESPACE,
          '--kubeconfig',
          c.cp.kubeconfigPath,
          '--set',
          'meshKey.existingSecret=meshlb-mesh-key',
          '--set',
          `speaker.stateDir=${stateDir(c)}`,
          '--set-string',
          'speaker.healthHost=',
          '--set-json',
          `speaker.extraEnv=${JSON.stringify(speakerExtraEnv)}`,
          '--set-json',
          `controller.extraEnv=${JSON.stringify(env)}`,
        ],
        { timeoutMs: 120_000 },
      ),
    );
  }
}

/**
 * Removes meshlb as docs/install.md says (kustomize: `kubectl delete -k`, which
 * also deletes the CRDs and the namespace; Helm: `helm uninstall`, then the
 * namespace) and waits until the namespace is gone.
 */
export async function uninstallMeshlb(
  c: KubeletCluster,
  method: InstallMethod,
  opts: InstallOptions = {},
): Promise<void> {
  if (method === 'kustomize') {
    await withOverlay(c, opts.speakerEnv ?? {}, ['delete', '--wait=true', '--timeout=180s']);
  } else {
    if (opts.helm === undefined) throw new InstallError('uninstallMeshlb(helm): no helm binary given');
    await ok(
      'helm uninstall',
      run([
        opts.helm,
        'uninstall',
        'meshlb',
        '--namespace',
        MESHLB_NAMESPACE,
        '--kubeconfig',
        c.cp.kubeconfigPath,
        '--wait',
      ]),
    );
  }
  await c.cp.kubectl([
    'delete',
    'namespace',
    MESHLB_NAMESPACE,
    '--ignore-not-found',
    '--wait=true',
    '--timeout=180s',
  ]);
}

/**
 * Why the meshlb Pods are not ready, in the kubelet's and the controllers'
 * words: each Pod's phase and container states (waiting reason and message,
 * last termination), then the namespace's Warning Events.
 */
export async function explainPods(c: KubeletCluster): Promise<string> {
  const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace: MESHLB_NAMESPACE })).items;
  const lines = pods.map((p) => {
    const states = (p.status?.containerStatuses ?? []).map((s) => {
      const w = s.state?.waiting;
      const t = s.lastState?.terminated ?? s.state?.terminated;
      return `${s.name}: ready=${s.ready} restarts=${s.restartCount}${w ? ` waiting ${w.reason}: ${w.message ?? ''}` : ''}${t ? ` terminated ${t.reason} (exit ${t.exitCode}): ${t.message ?? ''}` : ''}`;
    });
    return `${p.metadata?.name} on ${p.spec?.nodeName ?? '-'}: ${p.status?.phase} ${states.join('; ')}`;
  });
  const events = (await core.listNamespacedEvent({ namespace: MESHLB_NAMESPACE })).items
    .filter((e) => e.type === 'Warning')
    .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${e.message}`);
  return [...lines, ...(events.length > 0 ? ['events:', ...events] : [])].join('\n');
}

export interface RolloutState {
  speakersReady: number;
  speakersDesired: number;
  controllersAvailable: number;
  controllersWanted: number;
}

export async function rolloutState(c: KubeletCluster): Promise<RolloutState | undefined> {
  const apps = c.cp.kubeConfig.makeApiClient(AppsV1Api);
  try {
    const ds = await apps.readNamespacedDaemonSet({ name: SPEAKER_DS, namespace: MESHLB_NAMESPACE });
    const dep = await apps.readNamespacedDeployment({
      name: CONTROLLER_DEPLOYMENT,
      namespace: MESHLB_NAMESPACE,
    });
    const dsDone =
      (ds.status?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 1) &&
      (ds.status?.updatedNumberScheduled ?? 0) === (ds.status?.desiredNumberScheduled ?? -1);
    const depDone =
      (dep.status?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 1) &&
      (dep.status?.updatedReplicas ?? 0) === (dep.spec?.replicas ?? -1);
    return {
      speakersReady: dsDone ? (ds.status?.numberReady ?? 0) : 0,
      speakersDesired: ds.status?.desiredNumberScheduled ?? 0,
      controllersAvailable: depDone ? (dep.status?.availableReplicas ?? 0) : 0,
      controllersWanted: dep.spec?.replicas ?? 0,
    };
  } catch {
    return undefined;
  }
}

/** Waits until the DaemonSet has a ready speaker on every node and the Deployment all replicas available. */
export async function waitRolledOut(c: KubeletCluster, timeoutMs: number): Promise<RolloutState> {
  const done = await poll(
    async () => {
      const s = await rolloutState(c);
      return s !== undefined &&
        s.speakersDesired === c.nodes.length &&
        s.speakersReady === s.speakersDesired &&
        s.controllersAvailable === s.controllersWanted
        ? s
        : undefined;
    },
    timeoutMs,
    250,
  );
  if (done === undefined) {
    throw new InstallError(
      `meshlb not rolled out within ${timeoutMs} ms (${JSON.stringify(await rolloutState(c))}):\n${await explainPods(c)}`,
    );
  }
  return done;
}
