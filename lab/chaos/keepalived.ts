/**
 * The side-by-side: keepalived (VRRPv3, Debian's package) in the link-cut and
 * loss scenarios, on the same kind of testbed (a namespace LAN of N hosts and
 * a client) with the same client measurement (ping every 10 ms, the longest
 * gap around the cut) and the same loss (nftables on the bridge), at
 * keepalived's default 1 s adverts and the faster ones users tune it to.
 */
import { createLan } from '../testbed/netns/index.ts';
import {
  keepalivedLinkCutTrial,
  keepalivedLossTrial,
  startKeepalived,
  type AdvertIntervalMs,
  type KeepalivedCluster,
} from '../testbed/keepalived/index.ts';
import { summarise, type ScenarioResult, type Target, type Trial } from './results.ts';

/** The adverts compared by default: keepalived's own and 100 ms (--keepalived-adverts for 30 and 10). */
export const KEEPALIVED_INTERVALS: readonly AdvertIntervalMs[] = [1000, 100];

const systemOf = (interval: AdvertIntervalMs): string =>
  `keepalived (${interval === 1000 ? '1 s' : `${interval} ms`} adverts)`;

/** keepalived on a fresh LAN of `nodes` hosts for `body`, then torn down. */
async function withKeepalived<T>(
  nodes: number,
  interval: AdvertIntervalMs,
  body: (cluster: KeepalivedCluster) => Promise<T>,
): Promise<T> {
  const lan = await createLan({ hosts: nodes, prefix: 'mlbka' });
  try {
    const cluster = await startKeepalived(lan, lan.hosts, {
      vip: '198.51.100.200',
      advertIntervalMs: interval,
    });
    try {
      return await body(cluster);
    } finally {
      await cluster.stop();
    }
  } finally {
    await lan.teardown();
  }
}

/**
 * The loss scenarios on keepalived (one trial each): its MASTER transitions
 * while the loss lasts are false takeovers, as meshlb's takeovers are.
 */
export async function keepalivedLoss(
  nodes: number,
  scenario: { id: string; title: string; target: Target },
  loss: { fraction: number; durationMs: number; where: 'every' | 'master' },
  say: (line: string) => void,
  intervals: readonly AdvertIntervalMs[] = KEEPALIVED_INTERVALS,
): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  for (const interval of intervals) {
    const system = systemOf(interval);
    const r = await withKeepalived(nodes, interval, (cluster) => keepalivedLossTrial(cluster, loss));
    const trial: Trial = {
      trial: 1,
      outageMs: null,
      figures: {
        falseFailovers: r.takeovers,
        doubleMasters: r.doubleMasters,
        lossMinutes: loss.durationMs / 60_000,
      },
      ok: true,
      invariants: [],
      note: `${(loss.durationMs / 60_000).toFixed(1)} min at ${Math.round(loss.fraction * 100)}% loss${loss.where === 'master' ? " on the MASTER's link" : ''}`,
    };
    say(`${system} ${scenario.id}: ${r.takeovers} false takeovers (${r.doubleMasters} with two MASTERs)`);
    out.push({
      id: scenario.id,
      title: scenario.title,
      system,
      nodes,
      target: scenario.target,
      trials: [trial],
      summary: summarise([trial], scenario.target),
    });
  }
  return out;
}

export async function keepalivedLinkCut(
  nodes: number,
  trials: number,
  target: Target,
  say: (line: string) => void,
  intervals: readonly AdvertIntervalMs[] = KEEPALIVED_INTERVALS,
): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  for (const interval of intervals) {
    const system = systemOf(interval);
    const result: ScenarioResult = {
      id: 'link-cut',
      title: "announcer node's link cut",
      system,
      nodes,
      target,
      trials: [],
      summary: { n: 0, p50: null, p99: null, max: null, met: null },
    };
    await withKeepalived(nodes, interval, async (cluster) => {
      for (let t = 1; t <= trials; t++) {
        let trial: Trial;
        try {
          const r = await keepalivedLinkCutTrial(cluster);
          trial = {
            trial: t,
            outageMs: r.outageMs,
            ok: true,
            invariants: [{ name: 'another host took the VIP', ok: r.newMaster !== r.oldMaster }],
            note: `${r.oldMaster.name} → ${r.newMaster.name}`,
          };
        } catch (err) {
          trial = { trial: t, outageMs: null, ok: false, invariants: [], note: (err as Error).message };
        }
        result.trials.push(trial);
        say(
          `${system} link-cut ${t}/${trials}: ${trial.outageMs === null ? (trial.note ?? '') : `${trial.outageMs.toFixed(0)} ms`}`,
        );
      }
    });
    result.summary = summarise(result.trials, target);
    out.push(result);
  }
  return out;
}
