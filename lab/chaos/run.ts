import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { ClusterLab } from '../testbed/lab/index.ts';
import { AnswerWatch } from './answers.ts';
import { AssignmentWatch } from './assignments.ts';
import { steady } from './measure.ts';
import { figureName, formatValue } from './report-format.ts';
import { figureOf, summarise, type ChaosReport, type ScenarioResult } from './results.ts';
import { SCENARIOS } from './catalog.ts';
import type { AdvertIntervalMs } from '../testbed/keepalived/index.ts';
import { KEEPALIVED_INTERVALS, keepalivedLinkCut, keepalivedLoss } from './keepalived.ts';
import { SCENARIO_DEFAULTS, type Scenario, type ScenarioOptions } from './scenarios.ts';

export interface ChaosOptions {
  /** Speakers (nodes) in the lab. */
  nodes: number;
  /** Trials per scenario. */
  trials: number;
  /** Scenario ids to run, in this order (default: all). */
  scenarios?: readonly string[];
  /** The command line, for the report. */
  command: string;
  onProgress?: (line: string) => void;
  /** A lab already running with `nodes` nodes (tests); otherwise one is started and stopped. */
  lab?: ClusterLab;
  /** Durations of the long scenarios (loss, patch war). */
  scenarioOptions?: Partial<ScenarioOptions>;
  /** Run keepalived's link cut and loss scenarios beside meshlb's (when among the scenarios). Default true. */
  keepalived?: boolean;
  /** keepalived's advert intervals (default KEEPALIVED_INTERVALS: 1 s and 100 ms). */
  keepaliveAdverts?: readonly AdvertIntervalMs[];
}

/** Thrown for a scenario id that does not exist. */
export class UnknownScenarioError extends Error {
  override name = 'UnknownScenarioError';
}

export function pickScenarios(ids: readonly string[] | undefined): Scenario[] {
  if (ids === undefined) return [...SCENARIOS];
  return ids.map((id) => {
    const s = SCENARIOS.find((x) => x.id === id);
    if (s === undefined)
      throw new UnknownScenarioError(`no scenario "${id}" (known: ${SCENARIOS.map((x) => x.id).join(', ')})`);
    return s;
  });
}

function version(): { version: string; commit?: string } {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return { version: pkg.version, commit };
  } catch {
    return { version: pkg.version };
  }
}

/**
 * Runs the scenarios against a lab of `nodes` speakers, `trials` times each,
 * on the first Service's IPv4 address, and returns every trial.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.onProgress ?? (() => undefined);
  const scenarios = pickScenarios(opts.scenarios);
  const startedAt = new Date().toISOString();
  const lab = opts.lab ?? (await ClusterLab.start({ nodes: opts.nodes, onProgress: say }));
  const results: ScenarioResult[] = [];
  let watch: AssignmentWatch | undefined;
  let answers: AnswerWatch | undefined;
  try {
    const ip = lab.services[0]?.ips.find((x) => !x.includes(':'));
    if (ip === undefined) throw new Error('the lab has no Service with an IPv4 address');
    say(`waiting for the lab to settle (every speaker ready, one node answering ${ip})`);
    if ((await steady(lab, ip)) === undefined) throw new Error(`the lab did not settle (logs: ${lab.dir})`);
    watch = new AssignmentWatch(lab);
    await watch.start();
    answers = await AnswerWatch.start(lab, ip);
    for (const s of scenarios) {
      const result: ScenarioResult = {
        id: s.id,
        title: s.title,
        system: 'meshlb',
        nodes: lab.nodes.length,
        target: s.target,
        trials: [],
        summary: { n: 0, p50: null, p99: null, max: null, met: null },
      };
      results.push(result);
      for (let t = 1; t <= opts.trials; t++) {
        const from = Date.now();
        const trial = await s.trial(lab, ip, t, { ...SCENARIO_DEFAULTS, ...opts.scenarioOptions });
        const { check, ...figures } = answers.checkSince(
          from,
          trial.answersJudgedFrom ?? from,
          trial.doubleAnswerBoundMs,
        );
        const watched = [check, ...watch.checksSince(from)];
        trial.invariants.push(...watched);
        trial.figures = { ...trial.figures, ...figures };
        trial.ok &&= watched.every((i) => i.ok);
        result.trials.push(trial);
        const bad = trial.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail ?? ''}`);
        const v = figureOf(trial, s.target.figure);
        say(
          `${s.id} ${t}/${opts.trials}: ${v === null ? 'no measurement' : `${formatValue(v, s.target.figure)} ${figureName(s.target.figure)}`}` +
            `${trial.note === undefined ? '' : ` (${trial.note})`}${bad.length > 0 ? `; FAILED ${bad.join('; ')}` : ''}`,
        );
      }
      result.summary = summarise(result.trials, s.target);
    }
  } finally {
    await watch?.stop();
    await answers?.stop();
    if (opts.lab === undefined) await lab.stop();
  }
  const adverts = opts.keepaliveAdverts ?? KEEPALIVED_INTERVALS;
  const linkCut = scenarios.find((s) => s.id === 'link-cut');
  if (opts.keepalived !== false && linkCut !== undefined) {
    say(
      `keepalived beside it: the same link cut on the same kind of LAN, at ${adverts.join(', ')} ms adverts`,
    );
    results.push(...(await keepalivedLinkCut(opts.nodes, opts.trials, linkCut.target, say, adverts)));
  }
  for (const [id, fraction, where] of [
    ['loss', 0.05, 'every'],
    ['loss-one', 0.2, 'master'],
  ] as const) {
    const s = scenarios.find((x) => x.id === id);
    if (opts.keepalived === false || s === undefined) continue;
    say(`keepalived beside it: ${s.title}, at ${adverts.join(', ')} ms adverts`);
    const durationMs = { ...SCENARIO_DEFAULTS, ...opts.scenarioOptions }.lossMs;
    results.push(...(await keepalivedLoss(opts.nodes, s, { fraction, durationMs, where }, say, adverts)));
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    meshlb: version(),
    machine: { cpus: cpus().length, kernel: release(), node: process.version },
    command: opts.command,
    scenarios: results,
  };
}
