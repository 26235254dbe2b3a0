// A Service with meshlb.io/address-count: 3 on real speakers (issue 22, item 3):
// its three IPv4 addresses answered by three distinct nodes, before and after
// one of them is killed (kill -9). Speakers as processes, 4 nodes.
import test from 'ava';
import { answering, until } from '../../lab/chaos/measure.ts';
import { ClusterLab, createServices } from '../../lab/testbed/lab/index.ts';

const root = process.getuid?.() === 0;

/** Who answers each address (two ARP probes each), when every one has exactly one answerer. */
async function answerers(lab: ClusterLab, ips: readonly string[]): Promise<string[] | undefined> {
  const out: string[] = [];
  for (const ip of ips) {
    const who = await answering(lab, ip, 2);
    if (who.length !== 1) return undefined;
    out.push(who[0] as string);
  }
  return out;
}

(root ? test : test.skip)(
  'address-count 3: three nodes answer the three addresses, and three still do after one is killed',
  async (t) => {
    const lab = await ClusterLab.start({ nodes: 4, services: 1, prefix: 'mlbspr' });
    try {
      const [wide] = await createServices(lab, ['wide'], 60_000, { addressCount: 3 });
      const v4 = (wide?.ips ?? []).filter((ip) => !ip.includes(':'));
      t.is(v4.length, 3);
      const distinct = async (): Promise<string[] | undefined> => {
        const who = await answerers(lab, v4);
        return who !== undefined && new Set(who).size === 3 ? who : undefined;
      };
      const before = await until(distinct, 30_000, 250);
      t.truthy(before, `not on three distinct nodes (logs: ${lab.dir})`);
      const victim = before?.[0] as string;
      await lab.signalSpeaker(victim, 'SIGKILL');
      const after = await until(
        async () => {
          const who = await distinct();
          return who !== undefined && !who.includes(victim) ? who : undefined;
        },
        30_000,
        250,
      );
      t.truthy(after, `after ${victim} was killed: not on three distinct nodes (logs: ${lab.dir})`);
      t.log(`before: ${before?.join(', ') ?? ''}; ${victim} killed; after: ${after?.join(', ') ?? ''}`);
    } finally {
      await lab.stop();
    }
  },
);
