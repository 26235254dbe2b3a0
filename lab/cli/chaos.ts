import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { figureName, formatValue } from '../chaos/report-format.ts';
import { pickScenarios, runChaos, UnknownScenarioError } from '../chaos/run.ts';
import { SCENARIOS } from '../chaos/catalog.ts';
import { ADVERT_INTERVALS, type AdvertIntervalMs } from '../testbed/keepalived/index.ts';
import type { Command } from '../../src/cli/command.ts';
import { CliUsageError } from '../../src/cli/errors.ts';

const HELP = `usage: meshlb chaos [--nodes N] [--trials T] [--scenarios LIST] [--out DIR]

Runs failure scenarios against the lab (see meshlb lab --help): each trial
injects one fault into a steady lab while a client on the LAN pings the
Service IP every 10 ms, connects over TCP every 10 ms and watches its
neighbour entry; it then checks the invariants (one node answers, never an
ineligible one, no speaker crashed) and puts the lab back.
Scenarios: ${SCENARIOS.map((s) => `${s.id} (${s.title})`).join('; ')}.

flags:
  --nodes N          speakers (default 5, 2-8)
  --trials T         trials per scenario (default 20)
  --scenarios LIST   comma-separated ids (default: all)
  --loss-minutes M   how long the loss lasts in loss and loss-one (default 10)
  --war-seconds S    how long the rival controller fights (default 60)
  --api-down-seconds S  how long the speakers are without the API server in
                     api-down; the announcer's link is cut halfway (default 60)
  --no-keepalived    skip keepalived (its link cut and loss scenarios run beside
                     meshlb's by default)
  --keepalived-adverts LIST  keepalived's advert intervals in ms, comma-separated,
                     of 1000, 100, 30, 10 (default 1000,100)
  --out DIR          where chaos.json (every trial) and chaos.html (the report
                     with plots) go (default ./chaos-<time>)

Needs root. docs/chaos.md has the targets and the latest results.`;

async function runChaosCommand(args: string[]): Promise<number> {
  let values: {
    nodes: string;
    trials: string;
    scenarios?: string;
    out?: string;
    'loss-minutes': string;
    'war-seconds': string;
    'api-down-seconds': string;
    'no-keepalived': boolean;
    'keepalived-adverts': string;
  };
  try {
    values = parseArgs({
      args,
      options: {
        nodes: { type: 'string', default: '5' },
        trials: { type: 'string', default: '20' },
        scenarios: { type: 'string' },
        out: { type: 'string' },
        'loss-minutes': { type: 'string', default: '10' },
        'war-seconds': { type: 'string', default: '60' },
        'api-down-seconds': { type: 'string', default: '60' },
        'no-keepalived': { type: 'boolean', default: false },
        'keepalived-adverts': { type: 'string', default: '1000,100' },
      },
    }).values;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 8)
    throw new CliUsageError(`--nodes must be 2-8, got ${values.nodes}`);
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 1_000)
    throw new CliUsageError(`--trials must be 1-1000, got ${values.trials}`);
  const lossMinutes = Number(values['loss-minutes']);
  if (!(lossMinutes > 0 && lossMinutes <= 120))
    throw new CliUsageError(`--loss-minutes must be within (0, 120]`);
  const warSeconds = Number(values['war-seconds']);
  if (!(warSeconds >= 5 && warSeconds <= 3_600)) throw new CliUsageError(`--war-seconds must be 5-3600`);
  const apiDownSeconds = Number(values['api-down-seconds']);
  if (!(apiDownSeconds >= 0 && apiDownSeconds <= 3_600))
    throw new CliUsageError(`--api-down-seconds must be 0-3600`);
  const adverts = values['keepalived-adverts'].split(',').map((x) => Number(x.trim()));
  if (adverts.length === 0 || !adverts.every((a) => (ADVERT_INTERVALS as readonly number[]).includes(a)))
    throw new CliUsageError(
      `--keepalived-adverts must list some of ${ADVERT_INTERVALS.join(', ')}, got ${values['keepalived-adverts']}`,
    );
  const ids = values.scenarios
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  try {
    pickScenarios(ids);
  } catch (err) {
    if (err instanceof UnknownScenarioError) throw new CliUsageError(err.message);
    throw err;
  }
  if (process.getuid?.() !== 0) {
    console.error('meshlb chaos needs root: it creates network namespaces (run it with sudo).');
    return 1;
  }
  const out = resolve(values.out ?? `chaos-${new Date().toISOString().replaceAll(':', '').slice(0, 15)}`);
  mkdirSync(out, { recursive: true });
  const started = Date.now();
  const report = await runChaos({
    nodes,
    trials,
    ...(ids === undefined ? {} : { scenarios: ids }),
    keepalived: !values['no-keepalived'],
    keepaliveAdverts: adverts as AdvertIntervalMs[],
    scenarioOptions: {
      lossMs: lossMinutes * 60_000,
      warMs: warSeconds * 1_000,
      apiDownMs: apiDownSeconds * 1_000,
    },
    command: `meshlb chaos ${args.join(' ')}`.trim(),
    onProgress: (line) => {
      console.log(`chaos [${((Date.now() - started) / 1000).toFixed(0)} s]: ${line}`);
    },
  });
  writeFileSync(join(out, 'chaos.json'), `${JSON.stringify(report, null, 2)}\n`);
  // The report's plotting libraries are development dependencies: the image
  // (npm ci --omit=dev) runs the speaker and the controller, never chaos.
  const { renderHtml } = await import('../chaos/report.ts');
  writeFileSync(join(out, 'chaos.html'), await renderHtml(report));
  for (const s of report.scenarios) {
    const f = (v: number | null): string => formatValue(v, s.target.figure);
    console.log(
      `${s.id.padEnd(15)} ${s.system.padEnd(28)} n=${s.summary.n} ${figureName(s.target.figure)}: p50 ${f(s.summary.p50)} p99 ${f(s.summary.p99)} max ${f(s.summary.max)}  target: ${s.target.text}  ${s.summary.met === true ? 'MET' : 'NOT MET'}`,
    );
  }
  console.log(`report: ${join(out, 'chaos.html')} (every trial: ${join(out, 'chaos.json')})`);
  return report.scenarios.every((s) => s.trials.every((t) => t.ok)) ? 0 : 1;
}

export const chaos: Command = {
  name: 'chaos',
  summary: 'run failure scenarios on the lab and report the outage a client sees (root)',
  help: HELP,
  run: runChaosCommand,
};
