/**
 * The chaos report as one self-contained HTML page: a header (command,
 * machine, version, time), a table of scenarios, the three plots as inline
 * SVG (report-plots.ts), and the trials that failed. No script, no external
 * resource: it opens from a file, offline. Every text from the report is
 * escaped.
 */
import { figureTitle, formatMs, formatValue } from './report-format.ts';
import { frontierPlot } from './report-frontier.ts';
import { cdfPlot, comparisonPlot, trialsPlot, type Plot } from './report-plots.ts';
import type { ChaosReport, ScenarioResult, Target } from './results.ts';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML text or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function met(m: boolean | null): string {
  if (m === null) return '<td class="met none" title="nothing to judge">–</td>';
  return m ? '<td class="met yes" title="met">✓</td>' : '<td class="met no" title="not met">✗</td>';
}

/** The target's figure when it is not the outage, e.g. " (judged on: lost pings)". */
function figureNote(t: Target): string {
  return t.figure === 'outageMs'
    ? ''
    : ` <span class="figure">(judged on: ${escapeHtml(figureTitle(t.figure))})</span>`;
}

function scenarioRow(s: ScenarioResult): string {
  const { summary: m } = s;
  const v = (x: number | null): string => formatValue(x, s.target.figure);
  const trials = m.n === s.trials.length ? `${s.trials.length}` : `${m.n} of ${s.trials.length}`;
  return (
    `<tr><td><span class="title">${escapeHtml(s.title)}</span> <code>${escapeHtml(s.id)}</code></td>` +
    `<td>${escapeHtml(s.system)}</td><td class="num">${s.nodes}</td><td class="num">${trials}</td>` +
    `<td class="num">${v(m.p50)}</td><td class="num">${v(m.p99)}</td><td class="num">${v(m.max)}</td>` +
    `<td>${escapeHtml(s.target.text)}${figureNote(s.target)}</td>${met(m.met)}</tr>`
  );
}

function scenarioTable(report: ChaosReport): string {
  if (report.scenarios.length === 0) return '<p class="empty">No scenario ran.</p>';
  return (
    '<table id="scenarios"><thead><tr><th>scenario</th><th>system</th><th>N</th><th>trials</th>' +
    '<th>p50</th><th>p99</th><th>max</th><th>target</th><th>met</th></tr></thead><tbody>' +
    report.scenarios.map(scenarioRow).join('') +
    '</tbody></table>' +
    '<p class="note">p50 and p99 by the nearest-rank method over the trials that measured the target’s figure ' +
    '(“trials” counts those, of all that ran); met: every trial held every invariant and every bound of the ' +
    'target holds.</p>'
  );
}

function figure(p: Plot): string {
  const body = p.svg ?? `<p class="empty" id="${p.id}">Nothing to plot.</p>`;
  return (
    `<figure id="${p.id}-figure">${body}` +
    `<figcaption id="${p.id}-caption">${escapeHtml(p.caption)}</figcaption></figure>`
  );
}

function failures(report: ChaosReport): string {
  const items = report.scenarios.flatMap((s) =>
    s.trials
      .filter((t) => !t.ok)
      .map((t) => {
        const broken = t.invariants.filter((i) => !i.ok);
        const what = [
          t.outageMs === null ? 'no measurement' : `outage ${formatMs(t.outageMs)}`,
          ...broken.map((i) => `${i.name}${i.detail === undefined ? '' : `: ${i.detail}`}`),
          ...(t.note === undefined ? [] : [t.note]),
        ];
        return `<li><b>${escapeHtml(s.title)}</b> (${escapeHtml(s.system)}), trial ${t.trial}: ${escapeHtml(what.join('; '))}</li>`;
      }),
  );
  if (items.length === 0) return '';
  return `<section id="failures"><h2>Failed trials</h2><ul>${items.join('')}</ul></section>`;
}

function duration(from: string, to: string): string {
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  return ` (${s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`})`;
}

function header(r: ChaosReport): string {
  const version =
    r.meshlb.commit === undefined ? r.meshlb.version : `${r.meshlb.version} (${r.meshlb.commit})`;
  const rows: [string, string][] = [
    ['command', `<code>${escapeHtml(r.command)}</code>`],
    ['meshlb', escapeHtml(version)],
    ['machine', escapeHtml(`${r.machine.cpus} CPUs, Linux ${r.machine.kernel}, Node.js ${r.machine.node}`)],
    [
      'time',
      `${escapeHtml(r.startedAt)} – ${escapeHtml(r.finishedAt)}${duration(r.startedAt, r.finishedAt)}`,
    ],
  ];
  return `<header><h1>meshlb chaos report</h1><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl></header>`;
}

const STYLE = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; } dt { color: #666; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.met { text-align: center; font-weight: bold; } .yes { color: #2ca02c; } .no { color: #d62728; } .none { color: #999; }
code { font-size: 0.95em; } .figure, .note { color: #666; } .note { font-size: 0.85em; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.5em; } .empty { color: #999; font-style: italic; }
`;

/** The report as a self-contained HTML page (inline SVG plots, no script, no external resource). */
export async function renderHtml(report: ChaosReport): Promise<string> {
  const trials = await trialsPlot(report);
  const distribution = await cdfPlot(report);
  const compared = await comparisonPlot(report);
  const frontier = await frontierPlot(report);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshlb chaos report — ${escapeHtml(report.startedAt)}</title><style>${STYLE}</style></head>
<body>
${header(report)}
<main>
<h2>Scenarios</h2>
${scenarioTable(report)}
<h2>Outage per trial</h2>
${figure(trials)}
<h2>Outage distribution</h2>
${figure(distribution)}
<h2>meshlb against keepalived (link cut)</h2>
${figure(compared)}
<h2>The frontier: outage against false failovers under loss</h2>
${figure(frontier)}
${failures(report)}
</main>
</body></html>
`;
}
