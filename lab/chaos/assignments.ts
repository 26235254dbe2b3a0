/**
 * Two of chaos's invariants, checked continuously for the whole run: no
 * assigned IP changes (a Service that has an address keeps it until it is
 * deleted) and no IP is assigned to two Services at once. A Services watch on
 * the lab's namespace sees every status write, so a change undone a moment
 * later is still caught (polling after each trial would miss it).
 */
import type { V1Service } from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import { SupervisedInformer } from '../../src/kube/informer.ts';
import { LAB_NAMESPACE, type ClusterLab } from '../testbed/lab/index.ts';
import type { InvariantCheck } from './results.ts';

/**
 * A Service with this label is one a scenario deliberately fights over (the
 * patch war's rival rewrites its status): its changes are that scenario's
 * measurement, not a violation.
 */
export const FOUGHT_LABEL = 'chaos.meshlb.io/fought';

export interface AssignmentViolation {
  at: number;
  kind: 'changed' | 'twice';
  detail: string;
}

const ipsOf = (svc: V1Service): string[] =>
  (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])).sort();

/** The pure part: what was seen, and the violations among it. */
export class AssignmentLedger {
  readonly violations: AssignmentViolation[] = [];
  /** Service name → its addresses as last seen (only Services that had one). */
  readonly #assigned = new Map<string, string[]>();

  seen(svc: V1Service, at: number): void {
    const name = svc.metadata?.name ?? '';
    if (svc.metadata?.labels?.[FOUGHT_LABEL] !== undefined) return;
    const ips = ipsOf(svc);
    const before = this.#assigned.get(name);
    if (before !== undefined && ips.join(',') !== before.join(',')) {
      this.violations.push({
        at,
        kind: 'changed',
        detail: `${name}: ${before.join(',')} → ${ips.join(',') || 'none'}`,
      });
    }
    if (ips.length > 0) this.#assigned.set(name, ips);
    for (const ip of ips) {
      for (const [other, theirs] of this.#assigned) {
        if (other !== name && theirs.includes(ip))
          this.violations.push({ at, kind: 'twice', detail: `${ip}: ${name} and ${other}` });
      }
    }
  }

  deleted(name: string): void {
    this.#assigned.delete(name);
  }

  /** The invariant checks for what was seen since `from` (ms since the epoch). */
  checksSince(from: number): InvariantCheck[] {
    const since = this.violations.filter((v) => v.at >= from);
    const of = (kind: AssignmentViolation['kind']): string =>
      since
        .filter((v) => v.kind === kind)
        .map((v) => v.detail)
        .join('; ');
    return [
      {
        name: 'no assigned IP changed (watched throughout)',
        ok: of('changed') === '',
        detail: of('changed') || 'none',
      },
      {
        name: 'no IP assigned twice (watched throughout)',
        ok: of('twice') === '',
        detail: of('twice') || 'none',
      },
    ];
  }
}

/** The ledger fed by a Services watch on the lab's namespace. */
export class AssignmentWatch {
  readonly ledger = new AssignmentLedger();
  readonly #informer: SupervisedInformer<V1Service>;

  constructor(lab: ClusterLab) {
    const seen = (svc: V1Service): void => {
      this.ledger.seen(svc, Date.now());
    };
    this.#informer = new SupervisedInformer<V1Service>({
      client: lab.cp.kube,
      clock: systemClock,
      path: `/api/v1/namespaces/${LAB_NAMESPACE}/services`,
      onAdd: seen,
      onUpdate: seen,
      onDelete: (svc) => {
        this.ledger.deleted(svc.metadata?.name ?? '');
      },
    });
  }

  start(): Promise<void> {
    return this.#informer.start();
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  checksSince(from: number): InvariantCheck[] {
    return this.ledger.checksSince(from);
  }
}
