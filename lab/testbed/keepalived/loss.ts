import { setTimeout as delay } from 'node:timers/promises';
import type { KeepalivedCluster } from './cluster.ts';

/** What keepalived did under loss. */
export interface LossResult {
  /** Hosts that entered MASTER while the loss lasted: each a false takeover (nobody failed). */
  takeovers: number;
  /** Transitions that left two hosts MASTER at once (both answer ARP until one steps back). */
  doubleMasters: number;
}

/**
 * The chaos runner's loss scenarios on keepalived: a fraction of the frames on
 * every host's bridge port (or the MASTER's alone) dropped for `durationMs`
 * (nftables on the bridge, as for meshlb), counting MASTER transitions meanwhile.
 */
export async function keepalivedLossTrial(
  cluster: KeepalivedCluster,
  opts: { fraction: number; durationMs: number; where: 'every' | 'master' },
): Promise<LossResult> {
  const { lan } = cluster;
  const master = await cluster.steady();
  const hosts = opts.where === 'master' ? [master] : cluster.hosts;
  const from = cluster.changes.length;
  try {
    for (const h of hosts) await lan.dropFraction(h, opts.fraction);
    await delay(opts.durationMs); // the fault's duration, not a wait for a state
  } finally {
    for (const h of hosts) await lan.dropFraction(h, 0);
  }
  const during = cluster.changes.slice(from);
  const masters = new Set([master.name]);
  let takeovers = 0;
  let doubleMasters = 0;
  for (const c of during) {
    if (c.state === 'MASTER') {
      takeovers++;
      if (masters.size > 0 && !masters.has(c.host.name)) doubleMasters++;
      masters.add(c.host.name);
    } else masters.delete(c.host.name);
  }
  await cluster.steady();
  return { takeovers, doubleMasters };
}
