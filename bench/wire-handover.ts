/**
 * Hand-over on the wire (issue: wire, benchmark 2). Needs root.
 * Two hosts accept a VIP as kube-proxy would (on `lo`, arp_ignore=1,
 * arp_announce=2) and each runs the responder (src/arp Wire) in its own
 * process. The client pings the VIP every 10 ms and watches its neighbour
 * table (`ip -ts monitor neigh`). Each trial: the announcer's cable is
 * pulled (bridge port down), then the other host decides to announce. We
 * report the time from that decision to the client's neighbour entry moving
 * to the new MAC, and the ping gap: the longest time between two echo
 * replies across the trial, as the client saw it. Roles swap every trial.
 *
 *   sudo node bench/wire-handover.ts [--trials 100]
 */
import { parseArgs } from 'node:util';
import {
  createLan,
  longestGap,
  pingReplies,
  watchNeighbours,
  type Host,
} from '../lab/testbed/netns/index.ts';
import { PacketAgent } from '../lab/testbed/packet-agent/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '100' } } });
const TRIALS = Number(values.trials);
const VIP = '198.51.100.9';

/** Waits for `check` to hold, polling every 2 ms; throws after `ms`. */
async function until(what: string, check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const lan = await createLan({ hosts: 2, prefix: 'mlbbwh' });
try {
  const hosts = [lan.host('h1'), lan.host('h2')] as const;
  const client = lan.client as Host;
  const agents: PacketAgent[] = [];
  for (const h of hosts) {
    await lan.acceptVip(h, VIP);
    const a = await PacketAgent.start(lan, h);
    await a.op('wire', { interfaces: ['eth0'] });
    agents.push(a);
  }
  // The client's view: neighbour changes and echo replies, with their times (wall-clock ms).
  const monitor = watchNeighbours(lan, client, VIP);
  const moves = monitor.list;
  await agents[0]?.op('announce', { ip: VIP });
  const ping = pingReplies(lan, client, VIP, 0.01);
  const replies = ping.list;
  await until('first echo replies', () => replies.length >= 5);

  const handover: number[] = [];
  const gaps: number[] = [];
  const harness: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const victim = i % 2;
    const successor = 1 - victim;
    const [v, s] = [hosts[victim] as Host, hosts[successor] as Host];
    const [av, as] = [agents[victim] as PacketAgent, agents[successor] as PacketAgent];
    const before = replies.length;
    const tCut = Date.now();
    await lan.linkDown(v);
    const { t: decided } = await as.op<{ t: number }>('announce', { ip: VIP });
    harness.push(decided - tCut);
    await until('the neighbour entry to move', () => moves.some((m) => m.t >= decided && m.mac === s.mac));
    const moved = moves.find((m) => m.t >= decided && m.mac === s.mac)?.t ?? Number.NaN;
    handover.push(moved - decided);
    await until('echo replies again', () => replies.some((r) => r > moved + 30));
    gaps.push(longestGap(replies, before, moved + 30));
    // The old announcer learns it lost (the speaker would), and its cable goes back in.
    await av.op('withdraw', { ip: VIP });
    await lan.linkUp(v);
    moves.length = 0;
  }
  ping.stop();
  monitor.stop();
  console.log(
    JSON.stringify(
      {
        benchmark: 'wire-handover',
        trials: TRIALS,
        decision_to_neighbour_move_ms: summarize(handover, 2),
        ping_gap_ms: summarize(gaps, 1),
        cut_to_decision_ms: summarize(harness, 1),
        ping_interval_ms: 10,
      },
      null,
      2,
    ),
  );
  for (const a of agents) await a.stop();
} finally {
  await lan.teardown();
}
