export type { ChaosReport, InvariantCheck, ScenarioResult, Summary, Target, Trial } from './results.ts';
export { figureOf, nearestRank, summarise } from './results.ts';
export { escapeHtml, renderHtml } from './report.ts';
export type { Comparison, Plot } from './report-plots.ts';
export { cdf, comparison, PlotRenderError, renderSvg } from './report-plots.ts';
export { figureName, figureTitle, formatMs, formatRatio, formatValue, isMs } from './report-format.ts';
