/**
 * keepalived's failover as a client sees it, for comparison with meshlb's
 * chaos "link cut" (docs/netlab.md, "keepalived for comparison"). Needs root
 * and Debian's keepalived. keepalived (VRRPv3, all BACKUP with nopreempt,
 * priorities 100, 90, …) runs on every host of a LAN; each trial the client
 * pings the VIP every 10 ms, the MASTER's bridge port goes down, and the
 * outage is the longest gap between echo replies until replies resume from
 * the new MASTER; then the cable goes back in and the cluster settles. Once
 * with 1 s adverts (keepalived's default), once with 100 ms. One JSON line per
 * interval; percentiles are nearest-rank.
 *
 *   sudo node bench/keepalived.ts [--trials 20] [--hosts 5]
 */
import { parseArgs } from 'node:util';
import {
  keepalivedLinkCutTrial,
  startKeepalived,
  type AdvertIntervalMs,
} from '../lab/testbed/keepalived/index.ts';
import { createLan } from '../lab/testbed/netns/index.ts';
import { quantile } from './stats.ts';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '20' }, hosts: { type: 'string', default: '5' } },
});
const TRIALS = Number(values.trials);
const HOSTS = Number(values.hosts);
if (!(Number.isInteger(TRIALS) && TRIALS >= 1)) throw new RangeError(`--trials must be a positive integer`);

const lan = await createLan({ hosts: HOSTS, prefix: 'mlbbka' });
try {
  const vip = lan.vipRange4.replace(/0\/24$/, '20');
  for (const advertIntervalMs of [1000, 100] as AdvertIntervalMs[]) {
    const ka = await startKeepalived(lan, lan.hosts, { vip, advertIntervalMs });
    try {
      const trials: { trial: number; outageMs: number }[] = [];
      for (let trial = 1; trial <= TRIALS; trial++) {
        const { outageMs } = await keepalivedLinkCutTrial(ka);
        trials.push({ trial, outageMs: Number(outageMs.toFixed(1)) });
      }
      const sorted = trials.map((x) => x.outageMs).sort((a, b) => a - b);
      const label = advertIntervalMs === 1000 ? '1 s' : `${advertIntervalMs} ms`;
      console.log(
        JSON.stringify({
          system: `keepalived (${label} adverts)`,
          trials,
          p50: quantile(sorted, 0.5),
          p99: quantile(sorted, 0.99),
        }),
      );
    } finally {
      await ka.stop();
    }
  }
} finally {
  await lan.teardown();
}
