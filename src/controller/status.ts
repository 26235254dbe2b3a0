import type { V1Service } from '@kubernetes/client-node';
import { apiCode, APPLY_PATCH, objectPath, type KubeClient } from '../kube/client/index.ts';
import { CONTROLLER_MANAGER, ingressIps, ownsLoadBalancerStatus } from '../kube/views.ts';

/** The condition meshlb sets on a Service whose writes it paused (a patch war). */
export const PAUSED_CONDITION = 'meshlb.io/WritesPaused';

export type WriteResult =
  | { ok: true; resourceVersion: string | undefined }
  /** Another field manager owns status.loadBalancer with another value: meshlb does not overwrite it. */
  | { ok: false; conflict: true }
  | { ok: false; conflict: false; error: unknown };

export interface StatusIntent {
  /** The IPs meshlb wants in status.loadBalancer.ingress; undefined to give up its ownership. */
  ips: readonly string[] | undefined;
  /** Set the WritesPaused condition (with this message), or leave it out. */
  paused?: { message: string; since: Date } | undefined;
}

/**
 * Writes a Service's status with server-side apply as `meshlb-controller`:
 * exactly the fields meshlb owns (the ingress list, and the WritesPaused
 * condition while a patch war lasts), so leaving a field out gives it up.
 * Never forces over another manager's non-empty ingress (a 409 is reported
 * as a conflict); an empty ingress, or one meshlb already owns, is taken.
 */
export class StatusWriter {
  readonly #kube: KubeClient;

  constructor(kube: KubeClient) {
    this.#kube = kube;
  }

  async apply(svc: V1Service, intent: StatusIntent): Promise<WriteResult> {
    const name = svc.metadata?.name ?? '';
    const namespace = svc.metadata?.namespace ?? '';
    const current = ingressIps(svc);
    const ours = ownsLoadBalancerStatus(svc.metadata?.managedFields, CONTROLLER_MANAGER);
    const status: Record<string, unknown> = {};
    if (intent.ips !== undefined)
      status.loadBalancer = { ingress: intent.ips.map((ip) => ({ ip, ipMode: 'VIP' })) };
    if (intent.paused !== undefined)
      status.conditions = [
        {
          type: PAUSED_CONDITION,
          status: 'True',
          reason: 'PatchWar',
          message: intent.paused.message,
          lastTransitionTime: intent.paused.since.toISOString(),
          observedGeneration: svc.metadata?.generation ?? 0,
        },
      ];
    try {
      const out = await this.#kube.patch<V1Service>(
        `${objectPath('', 'v1', 'services', namespace, name)}/status`,
        // The uid is a precondition: an apply to a Service deleted meanwhile (or deleted and
        // created again under the same name) fails instead of creating or touching another object.
        { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, uid: svc.metadata?.uid }, status },
        {
          contentType: APPLY_PATCH,
          // Take an empty ingress (nothing to overwrite) or our own; never another's.
          query: { fieldManager: CONTROLLER_MANAGER, force: ours || current.length === 0 },
        },
      );
      return { ok: true, resourceVersion: out.metadata?.resourceVersion };
    } catch (error) {
      if (apiCode(error) === 409) return { ok: false, conflict: true };
      return { ok: false, conflict: false, error };
    }
  }
}
