import { longestGap, pingReplies, type Host } from '../netns/index.ts';
import type { KeepalivedCluster } from './cluster.ts';
import { KeepalivedTimeoutError } from './errors.ts';
import { until } from './wait.ts';

/** What the client saw of one link cut. */
export interface LinkCutResult {
  /** Longest time between two echo replies (ping every 10 ms) around the cut, ms. */
  outageMs: number;
  /** The MASTER whose cable was pulled. */
  oldMaster: Host;
  /** The MASTER once the cluster settled after the cable went back in (never the old one: nopreempt). */
  newMaster: Host;
  /**
   * The hosts that entered MASTER after the cut, in order. Usually just newMaster; when two
   * backups' Master_Down timers expire within a scheduling hiccup of each other, both take
   * over and the lower priority steps back on hearing the other's advert.
   */
  takeovers: Host[];
}

export interface LinkCutOptions {
  /** How long to wait for replies to resume from a new MASTER (default 5 s + 10 advert intervals). */
  deadlineMs?: number;
  /**
   * Picks the point of the advert cycle where the cable is pulled (0…1: after 10 echo replies
   * plus that fraction of one advert interval's worth; default Math.random).
   */
  random?: () => number;
}

/** Echo replies after the new MASTER logged its transition that count as traffic flowing again (as in the chaos runner). */
const RESUMED_REPLIES = 15;

/**
 * "Link cut" as meshlb's chaos runner measures it, on keepalived: the client
 * pings the VIP every 10 ms, the MASTER's bridge port goes down at a random
 * point of the advert cycle (see LinkCutOptions.random), and the
 * outage is the longest gap between echo replies around the cut, once
 * replies have resumed (15 after a new MASTER logged its transition). Then
 * the cable goes back in, and the trial returns once the cluster is steady
 * again: the old MASTER BACKUP (nopreempt), the new one holding the VIP.
 * Throws KeepalivedTimeoutError when replies do not resume by the deadline.
 */
export async function keepalivedLinkCutTrial(
  cluster: KeepalivedCluster,
  opts: LinkCutOptions = {},
): Promise<LinkCutResult> {
  const { lan, vip } = cluster;
  const client = lan.client;
  if (client === undefined) throw new RangeError(`LAN ${lan.id} has no client`);
  const deadlineMs = opts.deadlineMs ?? 5_000 + 10 * cluster.advertIntervalMs;
  const oldMaster = await cluster.steady();
  const ping = pingReplies(lan, client, vip, 0.01);
  let cut = false;
  try {
    // Each trial starts right after the previous one settled, a fixed time after the new MASTER's
    // first advert: cutting after a fixed warm-up would hit the same point of the advert cycle every
    // time. A random number of extra replies (10 ms each) spreads the cut over one interval.
    const warmUp = 10 + Math.floor((opts.random ?? Math.random)() * (cluster.advertIntervalMs / 10));
    await until(
      'the client to get echo replies from the VIP',
      () => (ping.list.length >= warmUp ? true : undefined),
      5_000 + 2 * cluster.advertIntervalMs,
      5,
    );
    const from = ping.list.length;
    const cutAt = Date.now();
    cut = true;
    await lan.linkDown(oldMaster);
    const taken = await until(
      'a new keepalived MASTER and echo replies from it',
      () => {
        const c = cluster.changes.find((x) => x.t >= cutAt && x.state === 'MASTER' && x.host !== oldMaster);
        if (c === undefined) return undefined;
        return ping.list.filter((r) => r > c.t).length >= RESUMED_REPLIES ? c : undefined;
      },
      deadlineMs,
    );
    const outageMs = longestGap(ping.list, from, Date.now());
    ping.stop();
    await lan.linkUp(oldMaster);
    cut = false;
    const newMaster = await cluster.steady();
    if (newMaster === oldMaster) {
      throw new KeepalivedTimeoutError(
        `${oldMaster.name} is MASTER again after its cable went back in (${taken.host.name} had taken over)`,
      );
    }
    const takeovers = cluster.changes
      .filter((x) => x.t >= cutAt && x.state === 'MASTER' && x.host !== oldMaster)
      .map((x) => x.host);
    return { outageMs, oldMaster, newMaster, takeovers };
  } finally {
    ping.stop();
    if (cut) await lan.linkUp(oldMaster);
  }
}
