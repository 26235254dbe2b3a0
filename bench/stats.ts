/** Percentile summaries for benchmark output. */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(xs: readonly number[], digits = 1): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number): number => Number(v.toFixed(digits));
  return {
    n: s.length,
    min: r(s[0] ?? Number.NaN),
    p50: r(quantile(s, 0.5)),
    p90: r(quantile(s, 0.9)),
    p99: r(quantile(s, 0.99)),
    max: r(s[s.length - 1] ?? Number.NaN),
    mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
  };
}
