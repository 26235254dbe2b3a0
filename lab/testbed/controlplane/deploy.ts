/**
 * What the tests of deploy/ (test/cluster/deploy*.test.ts) share: helm, built
 * once like the control plane; kubectl with standard input; `kubectl auth can-i`
 * as another user; and stand-ins for the Prometheus Operator's CRDs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type ExecResult } from '../exec.ts';
import type { ControlPlane } from './controlplane.ts';

const HELM_BUILD = fileURLToPath(new URL('../../../tools/helm/build.sh', import.meta.url));

/** helm could not be found or built. */
export class HelmBinaryError extends Error {
  override name = 'HelmBinaryError';
}

/**
 * The helm binary: $MESHLB_HELM_BIN when set (scripts/test sets it), else
 * whatever tools/helm/build.sh prints (instant when cached, ~1 min cold).
 */
export async function helmBinary(): Promise<string> {
  const fromEnv = process.env.MESHLB_HELM_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (existsSync(fromEnv)) return fromEnv;
    throw new HelmBinaryError(
      `MESHLB_HELM_BIN=${fromEnv} does not exist: unset it or run tools/helm/build.sh`,
    );
  }
  const r = await run([HELM_BUILD], { timeoutMs: 30 * 60_000 });
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !existsSync(bin)) {
    throw new HelmBinaryError(`tools/helm/build.sh failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return bin;
}

/** Runs kubectl with the admin kubeconfig and `input` on its standard input; never throws on a non-zero exit. */
export function kubectlWithInput(
  cp: ControlPlane,
  args: readonly string[],
  input: string,
  timeoutMs?: number,
): Promise<ExecResult> {
  return run([join(cp.binDir, 'kubectl'), `--kubeconfig=${cp.kubeconfigPath}`, ...args], {
    input,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

/** One request for `kubectl auth can-i`. */
export interface AccessRequest {
  verb: string;
  /** `resource` or `resource.group` (kubectl's syntax: `ippools.meshlb.io`). */
  resource: string;
  subresource?: string;
  name?: string;
  /** Unset: cluster-wide (`--all-namespaces`). */
  namespace?: string;
}

/** `verb resource[/name] in namespace`, for messages. */
export function describeAccess(r: AccessRequest): string {
  const sub = r.subresource === undefined ? '' : ` (${r.subresource})`;
  const name = r.name === undefined ? '' : `/${r.name}`;
  return `${r.verb} ${r.resource}${name}${sub} in ${r.namespace ?? '(all namespaces)'}`;
}

/**
 * Asks the API server, through `kubectl auth can-i --as=<user>`, whether `user`
 * (e.g. system:serviceaccount:ns:name) may make the request: the admin
 * impersonates the user and the server's authorizers (RBAC here) answer. Throws
 * when kubectl answers neither yes nor no.
 */
export async function canI(cp: ControlPlane, user: string, r: AccessRequest): Promise<boolean> {
  const args = ['auth', 'can-i', r.verb, r.name === undefined ? r.resource : `${r.resource}/${r.name}`];
  if (r.subresource !== undefined) args.push(`--subresource=${r.subresource}`);
  args.push(...(r.namespace === undefined ? ['--all-namespaces'] : ['--namespace', r.namespace]));
  const res = await cp.kubectl([...args, `--as=${user}`]);
  const answer = res.stdout.trim();
  if (res.code === 0 && answer === 'yes') return true;
  if (res.code === 1 && answer.startsWith('no')) return false;
  throw new Error(`kubectl ${args.join(' ')} exited ${res.code}: ${res.stdout}${res.stderr}`);
}

/**
 * Minimal stand-ins for the Prometheus Operator's ServiceMonitor, PodMonitor and
 * PrometheusRule CRDs (monitoring.coreos.com/v1), so that meshlb's monitoring
 * objects can be applied to a test API server. The real CRDs are large,
 * generated, and not meshlb's to ship or pin; these accept any spec
 * (x-kubernetes-preserve-unknown-fields), so they prove the objects' kinds,
 * versions, names and scope are right and that they apply, not that the
 * operator would accept every field: that is the operator's schema, checked by
 * people with its documentation.
 */
export const MONITORING_STAND_IN_CRDS: readonly object[] = (
  [
    ['ServiceMonitor', 'servicemonitors'],
    ['PodMonitor', 'podmonitors'],
    ['PrometheusRule', 'prometheusrules'],
  ] as const
).map(([kind, plural]) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.monitoring.coreos.com` },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        },
      },
    ],
  },
}));

/** Installs MONITORING_STAND_IN_CRDS and waits until they are Established. */
export async function installMonitoringStandInCrds(cp: ControlPlane): Promise<void> {
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: MONITORING_STAND_IN_CRDS });
  const applied = await kubectlWithInput(cp, ['apply', '--server-side', '-f', '-'], list);
  if (applied.code !== 0) throw new Error(`the monitoring stand-in CRDs did not apply: ${applied.stderr}`);
  const names = ['servicemonitors', 'podmonitors', 'prometheusrules'].map(
    (p) => `crd/${p}.monitoring.coreos.com`,
  );
  const ready = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', ...names]);
  if (ready.code !== 0)
    throw new Error(`the monitoring stand-in CRDs did not become Established: ${ready.stderr}`);
}
