/**
 * The failover frontier (the failover-frontier issue): one point per system
 * and setting, its link-cut outage p99 against its false failovers per hour
 * under loss (the loss and loss-one scenarios together). Fast and quiet is the
 * lower left; keepalived's faster adverts buy speed with false takeovers.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, renderSvg, type Plot } from './report-plots.ts';
import type { ChaosReport } from './results.ts';

const LOSS_SCENARIOS = ['loss', 'loss-one'];

export interface FrontierPoint {
  system: string;
  /** Link-cut outage p99, ms. */
  outageP99: number;
  /** False failovers per hour of loss. */
  perHour: number;
  /** Minutes of loss behind perHour. */
  minutes: number;
}

/** Systems with both a link-cut p99 and loss trials that say how long they ran (figure lossMinutes). */
export function frontier(report: ChaosReport): FrontierPoint[] {
  const out: FrontierPoint[] = [];
  for (const cut of report.scenarios.filter((s) => s.id === 'link-cut')) {
    const p99 = cut.summary.p99;
    if (p99 === null) continue;
    let failovers = 0;
    let minutes = 0;
    for (const s of report.scenarios)
      if (s.system === cut.system && LOSS_SCENARIOS.includes(s.id))
        for (const t of s.trials) {
          const m = t.figures?.lossMinutes;
          const f = t.figures?.falseFailovers;
          if (typeof m === 'number' && typeof f === 'number') {
            minutes += m;
            failovers += f;
          }
        }
    if (minutes > 0)
      out.push({ system: cut.system, outageP99: p99, perHour: (failovers * 60) / minutes, minutes });
  }
  return out;
}

export async function frontierPlot(report: ChaosReport): Promise<Plot> {
  const id = 'plot-frontier';
  const points = frontier(report);
  const caption =
    'Each system and setting: its link-cut outage p99 (x) against its false failovers per hour under loss ' +
    '(y: takeovers during the loss and loss-one scenarios, per hour of loss). The lower left is fast and quiet.' +
    (points.length === 0 ? ' No system ran both a link cut and a loss scenario: nothing to plot.' : '');
  if (points.length === 0) return { id, caption };
  const rows = points.map((p) => ({
    ...p,
    label: `${p.system}: ${p.outageP99.toFixed(0)} ms, ${p.perHour.toFixed(1)}/h (${p.minutes.toFixed(0)} min)`,
  }));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    data: { values: rows },
    width: 520,
    height: 300,
    encoding: {
      x: {
        field: 'outageP99',
        type: 'quantitative',
        title: 'link-cut outage p99 (ms)',
        scale: { zero: true },
      },
      y: {
        field: 'perHour',
        type: 'quantitative',
        title: 'false failovers per hour under loss',
        scale: { zero: true },
      },
    },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: { color: { field: 'system', type: 'nominal', legend: null } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 7, fontSize: 10 },
        encoding: { text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
  return { id, caption, svg: await renderSvg(spec, id) };
}
