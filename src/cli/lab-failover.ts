import { rankNodes } from '../election/index.ts';
import { longestGap, pingReplies, watchNeighbours, type Host, type Lan } from '../testbed/netns/index.ts';
import { PacketAgent } from '../testbed/packet-agent/index.ts';

/** What the lab's failover showed. */
export interface FailoverResult {
  vip4: string;
  vip6: string;
  first: Host;
  second: Host;
  /** The MAC the client's arping / ndisc6 got before the failover. */
  arpBefore: string | undefined;
  ndpBefore: string | undefined;
  /** The client's neighbour entry for the VIP after the failover. */
  neighbourAfter: string | undefined;
  /** Decision to announce → the client's neighbour entry moved, ms. */
  moveMs: number;
  /** Longest time between two echo replies (ping every 10 ms) across the failover, ms. */
  pingGapMs: number;
  /** Stops the responders (the second host answers for the IPs until then). */
  stop: () => Promise<void>;
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

const mac = (re: RegExp, s: string): string | undefined => re.exec(s)?.[1]?.toLowerCase();

/**
 * The responder (src/arp) on every host, one process each as a speaker runs;
 * the election's ranking picks the announcer of the Service IP and its heir.
 * The client resolves the IP, pings it every 10 ms, and the announcer's cable
 * is pulled: the heir announces, and the client's neighbour entry and pings
 * follow. (The mesh and the Kubernetes view decide this in the speaker; the
 * lab stands in for both until the speaker process exists.)
 */
export async function showFailover(lan: Lan, vip4: string, vip6: string): Promise<FailoverResult> {
  const client = lan.client as Host;
  const order = rankNodes(
    vip4,
    lan.hosts.map((h) => h.name),
  ).map((n) => lan.host(n));
  const [first, second] = order as [Host, Host];
  const agents = new Map<Host, PacketAgent>();
  const cleanup: (() => void)[] = [];
  const stop = async (): Promise<void> => {
    for (const a of agents.values()) await a.stop();
  };
  try {
    for (const h of [first, second]) {
      await lan.acceptVip(h, vip4);
      const agent = await PacketAgent.start(lan, h);
      await agent.op('wire', { interfaces: ['eth0'] });
      agents.set(h, agent);
    }
    const a1 = agents.get(first) as PacketAgent;
    const a2 = agents.get(second) as PacketAgent;
    await a1.op('announce', { ip: vip4 });
    await a1.op('announce', { ip: vip6 });
    const arp = await lan.exec(client, ['arping', '-c', '1', '-w', '2', '-I', 'eth0', vip4]);
    const ndp = await lan.exec(client, ['ndisc6', '-r', '3', '-w', '500', vip6, 'eth0']);

    const monitor = watchNeighbours(lan, client, vip4);
    cleanup.push(() => {
      monitor.stop();
    });
    const moves = monitor.list;
    const ping = pingReplies(lan, client, vip4, 0.01);
    cleanup.push(() => {
      ping.stop();
    });
    const replies = ping.list;
    await until(() => replies.length >= 10, 5_000);

    const before = replies.length;
    await lan.linkDown(first);
    const { t: decided } = await a2.op<{ t: number }>('announce', { ip: vip4 });
    await a2.op('announce', { ip: vip6 });
    await until(() => moves.some((m) => m.t >= decided && m.mac === second.mac), 3_000);
    const moved = moves.find((m) => m.t >= decided && m.mac === second.mac)?.t ?? Number.NaN;
    await until(() => replies.some((r) => r > moved + 30), 3_000);
    const gap = longestGap(replies, before, moved + 30);
    const neigh = await lan.exec(client, ['ip', 'neigh', 'show', 'to', vip4, 'dev', 'eth0']);
    // The old announcer learns it lost, and its cable goes back in.
    await a1.op('withdraw', { ip: vip4 });
    await a1.op('withdraw', { ip: vip6 });
    await lan.linkUp(first);
    return {
      vip4,
      vip6,
      first,
      second,
      arpBefore: mac(/\[([0-9a-f:]{17})\]/i, arp.stdout),
      ndpBefore: mac(/link-layer address\s*:\s*([0-9a-f:]{17})/i, ndp.stdout),
      neighbourAfter: mac(/lladdr ([0-9a-f:]{17})/i, neigh.stdout),
      moveMs: moved - decided,
      pingGapMs: gap,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    for (const c of cleanup) c();
  }
}
