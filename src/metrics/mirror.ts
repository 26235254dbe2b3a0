import { Counter, Gauge, type Registry } from 'prom-client';

/** Label values of one series. */
export type Labels<L extends string> = Partial<Record<L, string | number>>;

/** The current values of a metric's series, as its owner counts them. */
export type Read<L extends string> = () => Iterable<readonly [Labels<L>, number]>;

export interface MirrorSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: Read<L>;
}

const keyOf = (labels: Labels<string>): string =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, String(labels[k])]),
  );

/**
 * A Counter that mirrors a total some module keeps itself (MembershipStats,
 * WireStats, ControllerStats, …). prom-client's Counter cannot be set, so at
 * every scrape its collect() reads the current totals and increments each
 * series by what it grew since the last scrape. A total that went down means
 * its source started again from zero (a reopened socket, a new Membership):
 * the counter grows by the new total, so it never decreases.
 *
 * `read` runs at scrape time; return every series you want exported, zeros
 * included (a series that exists at 0 makes `rate()` and alerts work from the
 * start). A read that throws fails the scrape (500), never the process.
 */
export function mirroredCounter<L extends string>(registry: Registry, spec: MirrorSpec<L>): Counter<L> {
  const last = new Map<string, number>();
  const { read } = spec;
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        if (!Number.isFinite(value) || value < 0) continue;
        const key = keyOf(labels);
        const before = last.get(key) ?? 0;
        last.set(key, value);
        this.inc(labels, value >= before ? value - before : value);
      }
    },
  });
}

/**
 * A Gauge whose series are exactly what `read` returns at scrape time (series
 * it no longer returns disappear: an interface removed, a pool deleted).
 */
export function mirroredGauge<L extends string>(registry: Registry, spec: MirrorSpec<L>): Gauge<L> {
  const { read } = spec;
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      const values = [...read()];
      this.reset();
      for (const [labels, value] of values) this.set(labels, value);
    },
  });
}

/** Every key of `known` (at 0 when `counts` lacks it) and every key `counts` has: `label` → value. */
export function byLabel<L extends string>(
  label: L,
  counts: Readonly<Record<string, number | undefined>>,
  known: readonly string[] = [],
): [Labels<L>, number][] {
  const keys = new Set([...known, ...Object.keys(counts)]);
  return [...keys].map((k) => [{ [label]: k } as Labels<L>, counts[k] ?? 0]);
}

/**
 * `read`, called at most once per event-loop turn: a scrape collects every
 * metric in one synchronous pass, so metrics that read the same copy of a
 * module's stats (Controller.stats(), Responder.stats()) share it.
 */
export function oncePerTurn<T>(read: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    if (cached === undefined) {
      cached = { value: read() };
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}
