import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import {
  GROUP,
  PLURALS,
  VERSION,
  type IPPoolSpec,
  type L2AdvertisementSpec,
} from '../../../src/kube/api/index.ts';
import type { ControlPlane } from './controlplane.ts';

/** deploy/crds/ of this checkout. */
export const CRD_DIR = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));

/**
 * Installs meshlb's CRDs as an operator would (`kubectl apply --server-side` on
 * deploy/crds/) and waits until they are Established. Returns kubectl's stderr
 * (warnings). Throws with kubectl's message when either step fails.
 */
export async function installCrds(cp: ControlPlane): Promise<string> {
  const applied = await cp.kubectl(['apply', '--server-side', '-f', CRD_DIR]);
  if (applied.code !== 0) throw new Error(`kubectl apply of deploy/crds failed: ${applied.stderr}`);
  // kubectl wait fails at once, instead of waiting, on a CRD whose status has no
  // conditions yet ("accessor error: <nil> is of the type <nil>", seen in CI on a
  // busy machine right after the apply): ask again until the deadline.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const ready = await cp.kubectl([
      'wait',
      '--for=condition=Established',
      `--timeout=${left}s`,
      '-f',
      CRD_DIR,
    ]);
    if (ready.code === 0) return applied.stderr;
    if (!ready.stderr.includes('accessor error') || Date.now() >= deadline)
      throw new Error(`meshlb's CRDs did not become Established: ${ready.stderr}`);
  }
}

/** Creates an IPPool (cluster-scoped); defaults as the API server applies them. */
export async function createIpPool(
  cp: ControlPlane,
  name: string,
  spec: Partial<IPPoolSpec> & Pick<IPPoolSpec, 'addresses'>,
  labels: Record<string, string> = {},
): Promise<void> {
  await cp.kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS.IPPool,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'IPPool', metadata: { name, labels }, spec },
  });
}

/** Creates an L2Advertisement (cluster-scoped); unset fields get the API server's defaults. */
export async function createL2Advertisement(
  cp: ControlPlane,
  name: string,
  spec: Partial<L2AdvertisementSpec>,
): Promise<void> {
  await cp.kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS.L2Advertisement,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'L2Advertisement', metadata: { name }, spec },
  });
}
