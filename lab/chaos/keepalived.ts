/**
 * The side-by-side: keepalived (VRRPv3, Debian's package) in the link-cut
 * scenario, on the same kind of testbed (a namespace LAN of N hosts and a
 * client) with the same client measurement (ping every 10 ms, the longest gap
 * around the cut), at keepalived's default 1 s adverts and at 100 ms.
 */
import { createLan } from '../testbed/netns/index.ts';
import {
  keepalivedLinkCutTrial,
  startKeepalived,
  type AdvertIntervalMs,
} from '../testbed/keepalived/index.ts';
import { summarise, type ScenarioResult, type Target, type Trial } from './results.ts';

export const KEEPALIVED_INTERVALS: readonly AdvertIntervalMs[] = [1000, 100];

export async function keepalivedLinkCut(
  nodes: number,
  trials: number,
  target: Target,
  say: (line: string) => void,
): Promise<ScenarioResult[]> {
  const out: ScenarioResult[] = [];
  for (const interval of KEEPALIVED_INTERVALS) {
    const system = `keepalived (${interval === 1000 ? '1 s' : `${interval} ms`} adverts)`;
    const lan = await createLan({ hosts: nodes, prefix: 'mlbka' });
    const result: ScenarioResult = {
      id: 'link-cut',
      title: "announcer node's link cut",
      system,
      nodes,
      target,
      trials: [],
      summary: { n: 0, p50: null, p99: null, max: null, met: null },
    };
    try {
      const cluster = await startKeepalived(lan, lan.hosts, {
        vip: '198.51.100.200',
        advertIntervalMs: interval,
      });
      try {
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
      } finally {
        await cluster.stop();
      }
    } finally {
      await lan.teardown();
    }
    result.summary = summarise(result.trials, target);
    out.push(result);
  }
  return out;
}
