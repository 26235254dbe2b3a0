export type { ChaosReport, InvariantCheck, ScenarioResult, Summary, Target, Trial } from './results.ts';
export { figureOf, nearestRank, summarise } from './results.ts';
