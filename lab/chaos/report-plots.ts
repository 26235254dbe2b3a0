/**
 * The chaos report's plots: vega-lite specs built from a ChaosReport,
 * compiled to vega and rendered to SVG in Node (no browser, no canvas, no
 * network: the data is inline and the loader refuses every URL).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { figureTitle, formatRatio, formatValue, isMs } from './report-format.ts';
import { figureOf, type ChaosReport, type ScenarioResult } from './results.ts';

/** The scenario whose systems the comparison plot sets side by side. */
export const COMPARED_SCENARIO = 'link-cut';
/** The system the comparison's ratios are relative to. */
export const BASELINE_SYSTEM = 'meshlb';

export interface Plot {
  /** The SVG element's id. */
  id: string;
  caption: string;
  /** The SVG markup, or undefined when there is nothing to plot (the caption says why). */
  svg?: string;
}

/** A scenario's panel on the per-trial plot: its title, then the system when it is not meshlb, then the figure when it is not the outage. */
export function panelLabel(s: ScenarioResult): string {
  return [
    s.title,
    ...(s.system === BASELINE_SYSTEM ? [] : [s.system]),
    ...(s.target.figure === OUTAGE ? [] : [figureTitle(s.target.figure)]),
  ].join('\n');
}

/** The figure most targets name: the ping outage. */
const OUTAGE = 'outageMs';

/** The value axis: the one figure's title when every scenario is judged on the same, else the outage's, and panels judged on another figure name it in their header. */
function valueTitle(report: ChaosReport): string {
  const figures = distinct(report.scenarios.map((s) => s.target.figure));
  const [only] = figures;
  if (figures.length === 1 && only !== undefined) return figureTitle(only);
  return figures.every(isMs) ? figureTitle(OUTAGE) : `${figureTitle(OUTAGE).slice(0, -1)}; or as titled)`;
}

/** Distinct values in first-seen order (facet panels and colours follow the report's order). */
function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The systems in the report, meshlb first, so each keeps its colour on every plot. */
function systemColours(report: ChaosReport): { domain: string[]; range: string[] } {
  const domain = distinct([BASELINE_SYSTEM, ...report.scenarios.map((s) => s.system)]);
  const palette = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  return { domain, range: domain.map((_, i) => palette[i % palette.length] ?? '#333') };
}

/** Facet headers: split at the newline panelLabel puts in, never cut (without a canvas, vega overestimates text widths). */
const HEADER = { labelExpr: "split(datum.label, '\\n')", labelLimit: 0, labelFontSize: 11 };

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
export const CONFIG = {
  background: 'white',
  font: FONT,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 10, titleFontSize: 11 },
  legend: { labelLimit: 0 },
};

/** The loader vega gets: the specs carry their data inline, so a load is a bug, never a fetch. Records what was asked. */
function refusingLoader(asked: string[]): vega.Loader {
  const refuse = (uri: string): Promise<never> => {
    asked.push(uri);
    return Promise.reject(new Error(`the chaos report loads nothing (asked for ${uri})`));
  };
  return { ...vega.loader(), load: refuse, sanitize: refuse };
}

/** Thrown when vega could not render a plot: a spec it rejects, or a load the report forbids. */
export class PlotRenderError extends Error {
  override name = 'PlotRenderError';
}

/**
 * Compiles a vega-lite spec and renders it to an SVG string whose root element has `id`.
 * Errors vega logs (instead of throwing) and any load become a PlotRenderError; warnings are dropped.
 */
export async function renderSvg(spec: TopLevelSpec, id: string): Promise<string> {
  const errors: string[] = [];
  const asked: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (method, _level, args) => {
    if (method === 'error')
      errors.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  });
  const view = new vega.View(vega.parse(compile(spec, { logger }).spec), {
    renderer: 'none',
    loader: refusingLoader(asked),
    logger,
  });
  try {
    const svg = await view.toSVG();
    if (asked.length > 0) errors.push(`it asked to load ${asked.join(', ')}`);
    if (errors.length > 0) throw new PlotRenderError(`vega could not render ${id}: ${errors.join('; ')}`);
    return svg.replace(/^<svg /, `<svg id="${id}" role="img" aria-labelledby="${id}-caption" `);
  } finally {
    view.finalize();
  }
}

/** The bound drawn as a rule on the per-trial plot: p99, else max, else p50. */
function targetLine(s: ScenarioResult): number | null {
  return s.target.p99 ?? s.target.max ?? s.target.p50 ?? null;
}

interface TrialRow {
  panel: string;
  trial: number;
  value: number;
  result: 'ok' | 'failed';
  /** The scenario's target line, repeated on each row (a facet's layers share its data). */
  target: number | null;
}

/** (a) Every trial's value of its scenario's target figure, one panel per scenario and system, a rule at the target. */
export async function trialsPlot(report: ChaosReport): Promise<Plot> {
  const id = 'plot-trials';
  const rows: TrialRow[] = [];
  let unmeasured = 0;
  for (const s of report.scenarios) {
    const panel = panelLabel(s);
    const target = targetLine(s);
    for (const t of s.trials) {
      const value = figureOf(t, s.target.figure);
      if (value === null) unmeasured++;
      else rows.push({ panel, trial: t.trial, value, result: t.ok ? 'ok' : 'failed', target });
    }
  }
  const skipped = unmeasured === 0 ? '' : ` ${unmeasured} trial(s) without a measurement are not shown.`;
  const caption =
    'Each trial’s outage as the client saw it (the figure the scenario is judged on: in ms, or a count where the ' +
    'panel says so), one panel per scenario and system; failed trials (an invariant broke) in red; the dashed rule is the target (p99, else the maximum).' +
    skipped;
  if (rows.length === 0) return { id, caption: `${caption} No trial measured anything: nothing to plot.` };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    data: { values: rows },
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: distinct(rows.map((r) => r.panel)),
      header: HEADER,
    },
    columns: 3,
    resolve: { scale: { y: 'independent', x: 'independent' } },
    spec: {
      width: 230,
      height: 130,
      layer: [
        {
          mark: { type: 'circle', size: 40, opacity: 0.85 },
          encoding: {
            x: {
              field: 'trial',
              type: 'quantitative',
              title: 'trial',
              axis: { tickMinStep: 1, format: 'd' },
            },
            y: { field: 'value', type: 'quantitative', title: valueTitle(report), scale: { zero: true } },
            color: {
              field: 'result',
              type: 'nominal',
              title: 'trial',
              scale: { domain: ['ok', 'failed'], range: ['#1f77b4', '#d62728'] },
            },
            tooltip: [
              { field: 'trial', type: 'quantitative' },
              { field: 'value', type: 'quantitative', title: 'ms' },
            ],
          },
        },
        {
          transform: [{ filter: 'isValid(datum.target)' }],
          mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] },
          encoding: { y: { field: 'target', type: 'quantitative', aggregate: 'max' } },
        },
      ],
    },
  };
  return { id, caption, svg: await renderSvg(spec, id) };
}

interface CdfRow {
  scenario: string;
  system: string;
  value: number;
  fraction: number;
}

/** The empirical CDF of values: (v_i, i/n) for the ascending values, so a step plot reads "fraction of trials ≤ v". */
export function cdf(values: readonly number[]): { value: number; fraction: number }[] {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.map((value, i) => ({ value, fraction: (i + 1) / sorted.length }));
}

/** (b) The CDF of the outage, one panel per scenario, one line per system. */
export async function cdfPlot(report: ChaosReport): Promise<Plot> {
  const id = 'plot-cdf';
  const rows: CdfRow[] = [];
  for (const s of report.scenarios) {
    const values = s.trials.map((t) => figureOf(t, s.target.figure)).filter((v) => v !== null);
    const scenario = [s.title, ...(s.target.figure === OUTAGE ? [] : [figureTitle(s.target.figure)])].join(
      '\n',
    );
    for (const p of cdf(values)) rows.push({ scenario, system: s.system, ...p });
  }
  const caption =
    'The distribution of the outage per scenario: the fraction of trials whose outage was at most x ms ' +
    '(empirical CDF; one line per system).';
  if (rows.length === 0) return { id, caption: `${caption} No trial measured anything: nothing to plot.` };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    data: { values: rows },
    facet: {
      field: 'scenario',
      type: 'nominal',
      title: null,
      sort: distinct(rows.map((r) => r.scenario)),
      header: HEADER,
    },
    columns: 3,
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 230,
      height: 130,
      encoding: {
        x: { field: 'value', type: 'quantitative', title: valueTitle(report), scale: { zero: true } },
        y: {
          field: 'fraction',
          type: 'quantitative',
          title: 'fraction of trials',
          scale: { domain: [0, 1] },
          axis: { format: '%' },
        },
        color: { field: 'system', type: 'nominal', title: 'system', scale: systemColours(report) },
      },
      layer: [
        { mark: { type: 'line', interpolate: 'step-after' } },
        { mark: { type: 'point', filled: true, size: 25 } },
      ],
    },
  };
  return { id, caption, svg: await renderSvg(spec, id) };
}

export interface Comparison {
  system: string;
  p50: number | null;
  p99: number | null;
  /** This system's p50 / p99 over the baseline's; null without a baseline or a value. */
  p50Ratio: number | null;
  p99Ratio: number | null;
}

function ratio(v: number | null, base: number | null): number | null {
  return v === null || base === null || base <= 0 ? null : v / base;
}

/** The systems of the compared scenario (link-cut) with their p50 / p99 and their ratios to meshlb's. */
export function comparison(report: ChaosReport): Comparison[] {
  const runs = report.scenarios.filter((s) => s.id === COMPARED_SCENARIO);
  const base = runs.find((s) => s.system === BASELINE_SYSTEM)?.summary;
  return runs.map((s) => ({
    system: s.system,
    p50: s.summary.p50,
    p99: s.summary.p99,
    p50Ratio: ratio(s.summary.p50, base?.p50 ?? null),
    p99Ratio: ratio(s.summary.p99, base?.p99 ?? null),
  }));
}

/** (c) p50 and p99 outage of each system on the compared scenario, side by side, each bar labelled with its ratio to meshlb. */
export async function comparisonPlot(report: ChaosReport): Promise<Plot> {
  const id = 'plot-compare';
  const systems = comparison(report);
  const figure = report.scenarios.find((s) => s.id === COMPARED_SCENARIO)?.target.figure ?? OUTAGE;
  const rows = systems.flatMap((c) =>
    (['p50', 'p99'] as const).flatMap((stat) => {
      const v = c[stat];
      if (v === null) return [];
      const r = c.system === BASELINE_SYSTEM ? null : c[stat === 'p50' ? 'p50Ratio' : 'p99Ratio'];
      return [
        {
          system: c.system,
          stat,
          value: v,
          label: `${formatValue(v, figure)}${r === null ? '' : ` (${formatRatio(r)})`}`,
        },
      ];
    }),
  );
  const words = systems
    .filter((c) => c.system !== BASELINE_SYSTEM && (c.p50Ratio !== null || c.p99Ratio !== null))
    .map((c) => `${c.system}: p50 ${formatRatio(c.p50Ratio)}, p99 ${formatRatio(c.p99Ratio)}`);
  const caption =
    `The ${COMPARED_SCENARIO} scenario’s p50 and p99 outage for each system, side by side; ` +
    `the label on each bar is its value and its ratio to ${BASELINE_SYSTEM}’s` +
    (words.length > 0 ? ` (${words.join('; ')}).` : '.');
  if (rows.length === 0)
    return {
      id,
      caption: `${caption} No ${COMPARED_SCENARIO} results with a measured outage: nothing to plot.`,
    };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    data: { values: rows },
    width: { step: 110 },
    height: 260,
    encoding: {
      x: {
        field: 'system',
        type: 'nominal',
        title: null,
        sort: null,
        axis: { labelAngle: 0, labelLimit: 0 },
      },
      xOffset: { field: 'stat', type: 'nominal', sort: ['p50', 'p99'] },
      y: { field: 'value', type: 'quantitative', title: figureTitle(figure) },
    },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          color: {
            field: 'stat',
            type: 'nominal',
            title: null,
            scale: { domain: ['p50', 'p99'], range: ['#6baed6', '#08519c'] },
          },
        },
      },
      {
        mark: { type: 'text', dy: -4, baseline: 'bottom', fontSize: 10 },
        encoding: { text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
  return { id, caption, svg: await renderSvg(spec, id) };
}

/** The three plots, in the order the page shows them. */
export async function plots(report: ChaosReport): Promise<Plot[]> {
  return [await trialsPlot(report), await cdfPlot(report), await comparisonPlot(report)];
}
