// The responder on real interfaces, judged by real clients (arping, ndisc6,
// ping, the kernel's neighbour cache, TCP) in network namespaces.
import anyTest, { type TestFn } from 'ava';
import { buildNdpFrame, ipv6MulticastMac, solicitedNodeAddress } from '../../src/arp/codec/index.ts';
import type { WireStats } from '../../src/arp/index.ts';
import {
  arping as arpingFrom,
  createLan,
  ndisc,
  type Host,
  type Lan,
} from '../../lab/testbed/netns/index.ts';
import { PacketAgent, type AgentUser } from '../../lab/testbed/packet-agent/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ lan: Lan; agents: PacketAgent[] }>;
const root = process.getuid?.() === 0;
/** Short hand-off grace and probe wait so tests stay quick; the defaults are docs/wire.md's. */
const CONFIG = { conflictGraceMs: 300, probeWaitMs: 200 };

async function speaker(
  t: { context: { lan: Lan; agents: PacketAgent[] } },
  host: Host,
  user: AgentUser = 'root',
) {
  const agent = await PacketAgent.start(t.context.lan, host, user);
  t.context.agents.push(agent);
  return agent;
}

const vip4 = (n: number): string => `198.51.100.${n}`;
const vip6 = (lan: Lan, n: number): string => `${lan.vipRange6.split('::')[0] ?? ''}::${n.toString(16)}`;

/** arping from the client: the MACs that replied, one per reply. */
const arping = (lan: Lan, ip: string, count = 2): Promise<string[]> =>
  arpingFrom(lan, lan.client as Host, ip, count);

async function neighbour(lan: Lan, ip: string): Promise<string | undefined> {
  const r = await lan.exec(lan.client as Host, ['ip', '-j', 'neigh', 'show', 'to', ip, 'dev', 'eth0']);
  const entries = JSON.parse(r.stdout || '[]') as { lladdr?: string }[];
  return entries[0]?.lladdr;
}

const stats = (a: PacketAgent): Promise<WireStats> => a.op<WireStats>('wire-stats');

/**
 * Runs `client` while the agent's event loop is held (op 'block', `ms` long);
 * throws unless the client finished before the hold ended.
 */
async function whileHeld<T>(a: PacketAgent, ms: number, client: () => Promise<T>): Promise<T> {
  const seen = a.events.length;
  const held = a.op<{ start: number; end: number }>('block', { ms });
  await waitFor('the agent holds its event loop', () =>
    a.events.slice(seen).some((e) => e.event === 'blocking'),
  );
  const result = await client();
  const finished = Date.now();
  const { end } = await held;
  if (finished >= end) throw new Error(`the client finished ${finished - end} ms after the hold ended`);
  return result;
}

function conflicts(a: PacketAgent): Record<string, unknown>[] {
  return a.events.filter((e) => e.event === 'wire' && e.value?.type === 'conflict').map((e) => e.value ?? {});
}

if (!root) {
  test('ARP/NDP on the wire (needs root)', (t) => {
    t.log('skipped: network namespaces and packet sockets need root; run ./scripts/test as root');
    t.pass();
  });
} else {
  test.before(async (t) => {
    t.context.agents = [];
    t.context.lan = await createLan({ hosts: 3, prefix: 'mlbw' });
  });
  test.after.always(async (t) => {
    for (const a of t.context.agents) await a.stop();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await t.context.lan?.teardown();
  });

  test.serial(
    'arping gets replies carrying the announcer MAC; nothing answers for an IP not announced',
    async (t) => {
      const { lan } = t.context;
      const h1 = lan.host('h1');
      const a = await speaker(t, h1);
      await a.op('wire', { interfaces: ['eth0'], config: CONFIG });
      await a.op('announce', { ip: vip4(10) });
      t.deepEqual(await arping(lan, vip4(10)), [h1.mac, h1.mac]);
      t.deepEqual(await arping(lan, vip4(99), 1), [], 'an IP nobody announces');
      t.is((await stats(a)).answered.arp, 2);
    },
  );

  test.serial(
    'ndisc6 resolves an announced IPv6 address; a solicitation with hop limit 64 is ignored',
    async (t) => {
      const { lan } = t.context;
      const h1 = lan.host('h1');
      const [a] = t.context.agents as [PacketAgent];
      const ip = vip6(lan, 0x10);
      await a.op('announce', { ip });
      const r = await lan.exec(lan.client as Host, ['ndisc6', '-r', '3', '-w', '500', ip, 'eth0']);
      t.is(r.code, 0, r.stdout + r.stderr);
      t.regex(r.stdout.toLowerCase(), new RegExp(`link-layer address\\s*:\\s*${h1.mac}`));
      const answered = (await stats(a)).answered.ndp;
      // The same solicitation, from the client, with hop limit 64 (it could come from off-link).
      const cl = await speaker(t, lan.client as Host);
      await cl.op('open', { name: 'ip6', ifname: 'eth0', ethertype: 0x86dd });
      const group = solicitedNodeAddress(ip);
      const ns = buildNdpFrame(
        { kind: 'ns', target: ip, sourceLinkLayer: cl.host.mac },
        {
          srcMac: cl.host.mac,
          dstMac: ipv6MulticastMac(group),
          srcIp: cl.host.ipv6,
          dstIp: group,
          hopLimit: 64,
        },
      );
      await cl.op('send', { name: 'ip6', hex: ns.toString('hex') });
      await waitFor(
        'the hop-limit-64 solicitation counted',
        async () => (await stats(a)).dropped['hop-limit'] >= 1,
      );
      t.is((await stats(a)).answered.ndp, answered, 'not answered');
    },
  );

  test.serial(
    'hand-over: the client neighbour entries move at once, and ping and TCP reach the new announcer',
    async (t) => {
      const { lan } = t.context;
      const [h1, h2] = [lan.host('h1'), lan.host('h2')];
      const [a1] = t.context.agents as [PacketAgent];
      const a2 = await speaker(t, h2);
      await a2.op('wire', { interfaces: ['eth0'], config: CONFIG });
      const ip = vip4(20);
      const ip6 = vip6(lan, 0x20);
      // The VIP accepted on both hosts as kube-proxy would (IPVS: on a dummy/lo device,
      // never answering ARP for it: arp_ignore=1, arp_announce=2), and a server saying who it is.
      for (const h of [h1, h2]) {
        await lan.acceptVip(h, ip);
        const server = lan.spawn(h, [
          process.execPath,
          '-e',
          `require('node:net').createServer((s) => s.end('${h.name}')).listen(8080, '${ip}')`,
        ]);
        t.teardown(() => server.kill());
      }
      const tcp = async (): Promise<string> =>
        (
          await lan.exec(lan.client as Host, ['bash', '-c', `exec 3<>/dev/tcp/${ip}/8080 && cat <&3`], {
            timeoutMs: 2_000,
          })
        ).stdout;
      await a1.op('announce', { ip });
      await a1.op('announce', { ip: ip6 });
      await waitFor('TCP to h1', async () => (await tcp()) === 'h1');
      await lan.exec(lan.client as Host, ['ping', '-6', '-c', '1', '-W', '1', ip6]); // creates the IPv6 entry
      t.is(await neighbour(lan, ip), h1.mac);
      t.is(await neighbour(lan, ip6), h1.mac);
      // Make-before-break: h2 starts, then h1 stops.
      await a2.op('announce', { ip });
      await a2.op('announce', { ip: ip6 });
      await a1.op('withdraw', { ip });
      await a1.op('withdraw', { ip: ip6 });
      await waitFor('IPv4 entry on h2', async () => (await neighbour(lan, ip)) === h2.mac, 1_000, 5);
      await waitFor('IPv6 entry on h2', async () => (await neighbour(lan, ip6)) === h2.mac, 1_000, 5);
      const ping = await lan.exec(lan.client as Host, ['ping', '-c', '3', '-i', '0.2', '-W', '1', ip]);
      t.is(ping.code, 0, ping.stdout);
      t.is(await tcp(), 'h2');
      t.deepEqual(await arping(lan, ip, 2), [h2.mac, h2.mac], 'only the new announcer answers');
    },
  );

  test.serial('a second host answering for the VIP is reported as a conflict, with its MAC', async (t) => {
    const { lan } = t.context;
    const h3 = lan.host('h3');
    const [a1] = t.context.agents as [PacketAgent];
    const probed = vip4(30);
    const taken = vip4(31);
    await lan.exec(h3, ['ip', 'addr', 'add', `${probed}/32`, 'dev', 'eth0']);
    // A new Service: probed first; h3's kernel answers the probe.
    await a1.op('announce', { ip: probed, probe: true });
    const c1 = await waitFor('a conflict on the probed IP', () => conflicts(a1).find((c) => c.ip === probed));
    t.like(c1, { foreignMac: h3.mac, evidence: 'probe-answered', ifname: 'eth0' });
    // Already announcing (no probe), past the grace: h3 starts using the IP and announces it.
    await a1.op('announce', { ip: taken });
    await lan.exec(h3, ['ip', 'addr', 'add', `${taken}/32`, 'dev', 'eth0']);
    // Gratuitous ARPs from h3 within the hand-off grace are not reported; after it, they are.
    const c2 = await waitFor('a conflict on the announced IP', async () => {
      await lan.exec(h3, ['arping', '-U', '-c', '1', '-I', 'eth0', taken]);
      return conflicts(a1).find((c) => c.ip === taken);
    });
    t.like(c2, { foreignMac: h3.mac, evidence: 'arp-sender' });
    t.true((await stats(a1)).conflicts >= 2);
  });

  test.serial('a link going down and up gets a fresh gratuitous burst (netlink, no rescans)', async (t) => {
    const { lan } = t.context;
    const h2 = lan.host('h2');
    const a2 = t.context.agents.find((a) => a.host === h2) as PacketAgent;
    const before = (await stats(a2)).announcements;
    await lan.linkDown(h2);
    await lan.linkUp(h2);
    // 2 IPs on h2 (one v4, one v6), 4 frames each by default.
    await waitFor('a burst after link up', async () => {
      const now = (await stats(a2)).announcements;
      return now.arp >= before.arp + 4 && now.ndp >= before.ndp + 4;
    });
    t.pass();
  });

  test.serial(
    'without CAP_NET_RAW the speaker fails with a clear error; with only CAP_NET_RAW as nobody it answers',
    async (t) => {
      const { lan } = t.context;
      const h3 = lan.host('h3');
      const bare = await speaker(t, h3, 'nobody');
      const err = await t.throwsAsync(bare.op('wire', { interfaces: ['eth0'] }));
      t.regex(err.message, /PacketSocketPermissionError/);
      t.regex(err.message, /CAP_NET_RAW/);
      const raw = await speaker(t, h3, 'nobody+net_raw');
      t.is(raw.uid, 65534);
      await raw.op('wire', { interfaces: ['eth0'], config: CONFIG });
      await raw.op('announce', { ip: vip4(40) });
      t.deepEqual(await arping(lan, vip4(40), 1), [h3.mac]);
    },
  );

  test.serial(
    "the addon's thread answers ARP and NDP while the event loop is held; through the loop nothing does",
    async (t) => {
      const { lan } = t.context;
      const h3 = lan.host('h3');
      const client = lan.client as Host;
      const threaded = await speaker(t, h3);
      await threaded.op('wire', { interfaces: ['eth0'], config: CONFIG });
      await threaded.op('announce', { ip: vip4(50) });
      await threaded.op('announce', { ip: vip6(lan, 0x50) });
      t.deepEqual(await arping(lan, vip4(50), 1), [h3.mac]);
      const before = (await stats(threaded)).answered;
      const held = await whileHeld(threaded, 4000, () =>
        Promise.all([arping(lan, vip4(50), 2), ndisc(lan, client, vip6(lan, 0x50), 2)]),
      );
      t.deepEqual(held, [[h3.mac, h3.mac], [h3.mac]]);
      // Counted once the loop runs again and the thread's batches reach it.
      await waitFor('the held answers counted', async () => {
        const after = (await stats(threaded)).answered;
        return after.arp === before.arp + 2 && after.ndp === before.ndp + 1;
      });
      t.deepEqual((await stats(threaded)).answered, { arp: before.arp + 2, ndp: before.ndp + 1 });
      // The negative control: the same hold with every answer through the event loop.
      const looped = await speaker(t, h3);
      await looped.op('wire', { interfaces: ['eth0'], config: CONFIG, answerInThread: false });
      await looped.op('announce', { ip: vip4(51) });
      t.deepEqual(await arping(lan, vip4(51), 1), [h3.mac]);
      t.deepEqual(await whileHeld(looped, 3000, () => arping(lan, vip4(51), 1)), []);
    },
  );
}
