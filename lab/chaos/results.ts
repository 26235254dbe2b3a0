/**
 * What `meshlb chaos` records: one ChaosReport per run, written as JSON and
 * rendered to HTML by report.ts. The runner fills it; nothing here does I/O.
 * The schema is described in docs/chaos.md ("Report").
 */

/** One invariant a trial checked once the fault settled (e.g. "exactly one node answers ARP"). */
export interface InvariantCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface Trial {
  /** 1-based. */
  trial: number;
  /** The outage a client saw, in ms: the longest gap in ping replies (10 ms interval) around the fault; null when the trial failed to measure. */
  outageMs: number | null;
  /** Other client-side figures, all ms, each optional: longest TCP-connect gap, time until another MAC answered arping, etc. */
  figures?: Record<string, number>;
  /** Every invariant held and the measurement exists. */
  ok: boolean;
  invariants: InvariantCheck[];
  note?: string;
  /**
   * Wall-clock ms from which two MACs answering count against the bound: the
   * heal, in a scenario whose fault itself makes two answers (a mesh partition
   * whose two halves the client both reaches, each announcing). Default: the
   * trial's start.
   */
  answersJudgedFrom?: number;
  /**
   * The longest stretch of two MACs answering that this trial tolerates (ms);
   * default DOUBLE_ANSWER_BOUND_MS (answers.ts). 0: never two in any round, for
   * a fault after which only one node can answer (a link cut: the cut node
   * cannot, and back on the LAN it must not answer for an IP moved meanwhile).
   */
  doubleAnswerBoundMs?: number;
}

/** What a scenario must reach. `figure` names a Trial field ('outageMs') or a key of Trial.figures. */
export interface Target {
  figure: string;
  p50?: number;
  p99?: number;
  max?: number;
  /** The target in words, for a target that is not a bound on a figure (e.g. counts) and for the report. */
  text: string;
}

export interface Summary {
  /** Trials that measured the target's figure (non-null values). */
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** Every trial ok and every bound of the target held; null when there were no trials. */
  met: boolean | null;
}

export interface ScenarioResult {
  /** 'link-cut', 'kill-9', 'sigstop', 'not-ready', 'planned', 'rolling', 'partition', 'loss', 'loss-one', 'api-down', 'controller-kill', 'patch-war'. */
  id: string;
  /** Human title. */
  title: string;
  /** 'meshlb', 'keepalived (1 s adverts)', 'keepalived (100 ms adverts)'. */
  system: string;
  /** N speakers. */
  nodes: number;
  /** e.g. { figure: 'outageMs', p50: 200, p99: 300 } or { figure: 'outageMs', max: 20 }, or a text target for counts. */
  target: Target;
  trials: Trial[];
  summary: Summary;
}

export interface ChaosReport {
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string;
  meshlb: { version: string; commit?: string };
  machine: { cpus: number; kernel: string; node: string };
  /** The command line that produced it. */
  command: string;
  scenarios: ScenarioResult[];
}

/** The value of `figure` in a trial: the Trial field of that name ('outageMs') or a key of its figures. */
export function figureOf(trial: Trial, figure: string): number | null {
  const v = figure === 'outageMs' ? trial.outageMs : trial.figures?.[figure];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The nearest-rank percentile of ascending `sorted` (p in (0, 100]): the
 * smallest value such that at least p % of the values are at or below it,
 * i.e. sorted[ceil(p/100 · n) − 1]. Null for no values.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

/**
 * p50 / p99 (nearest rank) and max over the trials' non-null values of
 * `target.figure`. met: null with no trials; otherwise true when every trial
 * is ok and every bound the target sets (p50, p99, max) holds. A bound with no
 * measured value to check it against is not met.
 */
export function summarise(trials: readonly Trial[], target: Target): Summary {
  const values = trials
    .map((t) => figureOf(t, target.figure))
    .filter((v) => v !== null)
    .sort((a, b) => a - b);
  const p50 = nearestRank(values, 50);
  const p99 = nearestRank(values, 99);
  const max = values.length === 0 ? null : (values[values.length - 1] ?? null);
  if (trials.length === 0) return { n: 0, p50, p99, max, met: null };
  const within = (v: number | null, bound: number | undefined): boolean =>
    bound === undefined || (v !== null && v <= bound);
  const met =
    trials.every((t) => t.ok) &&
    within(p50, target.p50) &&
    within(p99, target.p99) &&
    within(max, target.max);
  return { n: values.length, p50, p99, max, met };
}
