/**
 * How the report writes numbers and figures. A figure whose name ends in "Ms"
 * (outageMs, tcpGapMs, settledAfterHealMs) is in milliseconds; any other
 * (lostPings, patch writes) is a count.
 */

/** True for a figure in milliseconds (its name ends in "Ms"). */
export function isMs(figure: string): boolean {
  return figure.endsWith('Ms');
}

/** A figure's name for people: "outageMs" → "outage", "lostPings" → "lost pings". */
export function figureName(figure: string): string {
  const base = isMs(figure) ? figure.slice(0, -2) : figure;
  return base.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/** A figure with its unit: "outage (ms)", "lost pings (count)". */
export function figureTitle(figure: string): string {
  return `${figureName(figure)} (${isMs(figure) ? 'ms' : 'count'})`;
}

/** "420 ms", "8.5 ms", "–" for null. */
export function formatMs(v: number | null): string {
  if (v === null) return '–';
  return `${Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
}

/** A value of `figure`: in ms ("420 ms") or a count ("3", "2.5"); "–" for null. */
export function formatValue(v: number | null, figure: string): string {
  if (v === null) return '–';
  if (isMs(figure)) return formatMs(v);
  return Number.isInteger(v) ? `${v}` : v.toFixed(1);
}

/** "×12", "×1.5"; "" for null. */
export function formatRatio(r: number | null): string {
  if (r === null) return '';
  return `×${r >= 10 ? r.toFixed(0) : r.toFixed(1)}`;
}
