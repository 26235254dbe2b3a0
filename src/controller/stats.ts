import type { FailureReason } from '../kube/allocator/index.ts';

/** Results of API writes, per resource. */
export interface WriteCounts {
  ok: number;
  /** Refused: another field manager owns the field (409). */
  conflict: number;
  error: number;
}

/** Counters for metrics and tests (src/metrics reads them at scrape time). */
export interface ControllerStats {
  /** Status writes attempted, per Service key (conflicts included); a deleted Service's entry goes with it. */
  writes: Map<string, number>;
  /** Status writes refused because another manager owns status.loadBalancer. */
  conflicts: number;
  pausedServices: number;
  /** New or changed IP assignments written to a Service's status. */
  allocations: number;
  /** Reconciles that left a Service's request unmet, by reason. */
  allocationFailures: Partial<Record<FailureReason, number>>;
  /** Status IPs a restore could not take back: an older Service holds them. */
  restoreConflicts: number;
  /** Patch wars detected (writes to a Service paused). */
  oscillationBreaks: number;
  /** API writes by resource and result (pool statuses only when they changed). */
  apiWrites: {
    'services/status': WriteCounts;
    'ippools/status': WriteCounts;
    'l2advertisements/status': WriteCounts;
  };
}

/** Every counter at zero. */
export function emptyStats(): ControllerStats {
  const none = (): WriteCounts => ({ ok: 0, conflict: 0, error: 0 });
  return {
    writes: new Map(),
    conflicts: 0,
    pausedServices: 0,
    allocations: 0,
    allocationFailures: {},
    restoreConflicts: 0,
    oscillationBreaks: 0,
    apiWrites: {
      'services/status': none(),
      'ippools/status': none(),
      'l2advertisements/status': none(),
    },
  };
}
