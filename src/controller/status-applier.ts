/**
 * Writes the status of meshlb's cluster-scoped objects (IPPool,
 * L2Advertisement) by server-side apply as `meshlb-controller`, only when what
 * it would write differs from what it last wrote: a reconcile that changes
 * nothing costs no request. Conditions keep their transition time while their
 * status stays (stamped).
 */
import type { Logger } from 'pino';
import { GROUP, PLURALS, VERSION, type Condition } from '../kube/api/index.ts';
import { APPLY_PATCH, objectPath, type KubeClient } from '../kube/client/index.ts';
import { CONTROLLER_MANAGER } from '../kube/views.ts';

/** A condition as decided, before it gets its transition time. */
export type DesiredCondition = Omit<Condition, 'lastTransitionTime'>;

/** The conditions with transition times: kept from `before` where the status did not change, else now. */
export function stamped(
  before: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  now: Date,
): Condition[] {
  const old = new Map((before ?? []).map((c) => [c.type, c]));
  return desired.map((d) => {
    const was = old.get(d.type);
    return {
      ...d,
      lastTransitionTime: was?.status === d.status ? was.lastTransitionTime : now.toISOString(),
    };
  });
}

export type StatusKind = 'IPPool' | 'L2Advertisement';

export class StatusApplier {
  readonly #kube: KubeClient;
  readonly #log: Logger | undefined;
  readonly #last = new Map<string, string>();

  constructor(kube: KubeClient, log?: Logger) {
    this.#kube = kube;
    this.#log = log;
  }

  /**
   * Applies `status()` to the object if `key` (what the status says, without
   * times) changed since the last write that worked; says whether it wrote,
   * failed (logged; tried again at the next call), or had nothing to write.
   */
  async apply(
    kind: StatusKind,
    name: string,
    key: string,
    status: () => object,
  ): Promise<'ok' | 'error' | 'unchanged'> {
    const id = `${kind}/${name}`;
    if (this.#last.get(id) === key) return 'unchanged';
    try {
      await this.#kube.patch(
        `${objectPath(GROUP, VERSION, PLURALS[kind], undefined, name)}/status`,
        { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, status: status() },
        { contentType: APPLY_PATCH, query: { fieldManager: CONTROLLER_MANAGER, force: true } },
      );
      this.#last.set(id, key);
      return 'ok';
    } catch (err) {
      this.#log?.warn({ err, kind, name }, `could not write the ${kind} status`);
      return 'error';
    }
  }

  /** The object is gone (or must be written again). */
  forget(kind: StatusKind, name: string): void {
    this.#last.delete(`${kind}/${name}`);
  }
}
