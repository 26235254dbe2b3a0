/**
 * How a client sees a fault: pings every 10 ms, TCP connects every 10 ms (the
 * lab's HTTP endpoint names the node that served), and its neighbour entry
 * for the VIP (gratuitous ARP moves it). All times wall-clock ms.
 */
import type { Lab } from '../testbed/lab/index.ts';
import { poll } from '../testbed/poll.ts';
import { longestTcpGap, tcpAttempts } from '../testbed/lab/index.ts';
import {
  answeringHosts,
  longestGap,
  lostEchoes,
  pingEchoes,
  watchNeighbours,
} from '../testbed/netns/index.ts';

/** Polls `check` until it returns a value, or undefined after `ms` (the harness's one loop). */
export const until = <T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms: number,
  every = 50,
): Promise<T | undefined> => poll(check, ms, every);

/** The nodes whose MAC answers for `ip` from the client: arping (IPv4) or ndisc6 (IPv6). */
export function answering(lab: Lab, ip: string, probes = 1): Promise<string[]> {
  return answeringHosts(lab.lan, lab.client, ip, probes);
}

/** Every speaker answers /readyz 200 (asked from the client, over the LAN). */
export async function allReady(lab: Lab, nodes = lab.nodes.map((n) => n.name)): Promise<boolean> {
  const r = await Promise.all(nodes.map((n) => lab.http.get(lab.speakerUrl(n, '/readyz'))));
  return r.every((x) => x.status === 200);
}

/** Members alive in one speaker's view (its /debug/summary). */
export async function aliveSeenBy(lab: Lab, node: string): Promise<number | undefined> {
  const r = await lab.http.get(lab.speakerUrl(node, '/debug/summary'));
  if (r.status !== 200) return undefined;
  const d = JSON.parse(r.body) as { members: { state: string }[] };
  return d.members.filter((m) => m.state === 'alive').length;
}

/**
 * How long every speaker process has run before a trial starts. A speaker
 * works through its start-up for a second or two after it is ready (pushes
 * and pulls with every member, handshakes, the informers' first lists, its
 * heap growing): at N = 8 on 2 cores, a kill -9 whose heir had joined half a
 * second before took 105–150 ms where warm heirs took 30–80 ms. Trials
 * measure a fault in a running cluster, where the heir has long been up; a
 * heir restarted seconds before is the rolling scenario's concern.
 */
export const WARM_MS = 5_000;

/**
 * Waits until the lab is steady: every speaker up WARM_MS, ready and seeing
 * all members alive, and exactly one node answering for `ip`. Returns that node.
 */
export async function steady(lab: Lab, ip: string, ms = 60_000): Promise<string | undefined> {
  const n = lab.nodes.length;
  return until(
    async () => {
      if (lab.youngestSpeakerMs() < WARM_MS) return undefined;
      if (!(await allReady(lab))) return undefined;
      for (const node of lab.nodes) if ((await aliveSeenBy(lab, node.name)) !== n) return undefined;
      // Two probes: arping stops at its count of replies, so with one probe a
      // second node answering the same request would go unseen.
      const who = await answering(lab, ip, 2);
      return who.length === 1 ? who[0] : undefined;
    },
    ms,
    250,
  );
}

export interface FaultWindow {
  /** When the fault was injected (just before the call). */
  faultAt: number;
  /** Longest gap between ping replies around the fault. */
  pingGapMs: number;
  /** Echoes lost around the fault (missing sequence numbers), in all. */
  lostPings: number;
  /** Longest time without a successful TCP connect around the fault. */
  tcpGapMs: number;
  /** First TCP success served by a node other than `victim`, ms after the fault. */
  servedElsewhereMs: number | undefined;
  /** The client's neighbour entry first moved to a MAC other than the victim's, ms after the fault. */
  neighbourMovedMs: number | undefined;
  /** Ping replies resumed for good (15 in a row) within the deadline. */
  recovered: boolean;
}

/**
 * Runs `fault` while the client watches `ip`, and waits until traffic flows
 * again (15 consecutive ping replies after the fault) or `deadlineMs`.
 */
export async function watchFault(
  lab: Lab,
  ip: string,
  victim: string,
  fault: () => Promise<void>,
  opts: { deadlineMs?: number; waitForMove?: boolean } = {},
): Promise<FaultWindow> {
  const { lan, client } = lab;
  const ping = pingEchoes(lan, client, ip, 0.01);
  const tcp = tcpAttempts(lan, client, ip);
  const neigh = watchNeighbours(lan, client, ip);
  const victimMac = lab.node(victim).mac;
  try {
    await until(() => (ping.list.length >= 10 && tcp.list.some((a) => a.ok) ? true : undefined), 10_000, 20);
    const from = ping.list.length;
    const faultAt = Date.now();
    await fault();
    const recovered =
      (await until(
        () => {
          const after = ping.list.filter((r) => r.t > faultAt);
          if (after.length < 15) return undefined;
          const moved = neigh.list.some((m) => m.t > faultAt - 5 && m.mac !== victimMac);
          const served = tcp.list.some((a) => a.ok && a.t > faultAt && a.node !== victim);
          return opts.waitForMove === true && !(moved && served) ? undefined : true;
        },
        opts.deadlineMs ?? 15_000,
        20,
      )) === true;
    const end = Date.now();
    const moved = neigh.list.find((m) => m.t > faultAt - 5 && m.mac !== victimMac);
    const served = tcp.list.find((a) => a.ok && a.t > faultAt && a.node !== victim);
    return {
      faultAt,
      pingGapMs:
        ping.list.length > from
          ? longestGap(
              ping.list.map((r) => r.t),
              from,
              end,
            )
          : end - faultAt,
      lostPings: lostEchoes(ping.list, from).lost,
      tcpGapMs: longestTcpGap(tcp.list, faultAt, end),
      servedElsewhereMs: served === undefined ? undefined : served.t - faultAt,
      neighbourMovedMs: moved === undefined ? undefined : Math.max(0, moved.t - faultAt),
      recovered,
    };
  } finally {
    ping.stop();
    tcp.stop();
    neigh.stop();
  }
}
