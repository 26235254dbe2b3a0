import { readdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import anyTest, { type TestFn } from 'ava';
import { InterfaceNotFoundError } from '../../src/arp/errors.ts';
import { loadAddon } from '../../src/arp/native.ts';
import { interfaceInfo } from '../../src/arp/packet-socket.ts';
import { createLan, type Host, type Lan } from '../../lab/testbed/netns/index.ts';
import { AgentOpError, PacketAgent, type AgentUser } from '../../lab/testbed/packet-agent/index.ts';
import { waitFor } from '../helpers/wait.ts';

interface Ctx {
  lan: Lan;
  agents: PacketAgent[];
}

const test = anyTest as TestFn<Ctx>;
const root = process.getuid?.() === 0;

const ETH_P_ALL = 0x0003;
const ETH_P_ARP = 0x0806;
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** ldh [12]; jeq #0x0806, accept, drop: only ARP frames pass. */
const ARP_ONLY = [
  { code: 0x28, jt: 0, jf: 0, k: 12 },
  { code: 0x15, jt: 0, jf: 1, k: ETH_P_ARP },
  { code: 0x06, jt: 0, jf: 0, k: 0x40000 },
  { code: 0x06, jt: 0, jf: 0, k: 0 },
];
/** ret #0: nothing passes. */
const NOTHING = [{ code: 0x06, jt: 0, jf: 0, k: 0 }];

function filterHex(program: readonly { code: number; jt: number; jf: number; k: number }[]): string {
  const b = Buffer.alloc(program.length * 8);
  const le = endianness() === 'LE';
  program.forEach((ins, i) => {
    const v = new DataView(b.buffer, b.byteOffset + i * 8, 8);
    v.setUint16(0, ins.code, le);
    v.setUint8(2, ins.jt);
    v.setUint8(3, ins.jf);
    v.setUint32(4, ins.k, le);
  });
  return b.toString('hex');
}

const macHex = (mac: string): string => mac.replaceAll(':', '');
const ipHex = (ip: string): string =>
  ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
const hexIp = (hex: string): string => (hex.match(/../g) ?? []).map((h) => parseInt(h, 16)).join('.');
const hexMac = (hex: string): string => (hex.match(/../g) ?? []).join(':');

/** An Ethernet + ARP frame (op 1 request, 2 reply), as hex; requests go to broadcast. */
function arpFrame(
  op: 1 | 2,
  sender: { mac: string; ip: string },
  target: { mac: string; ip: string },
): string {
  const ethDst = op === 1 ? BROADCAST : target.mac;
  return (
    macHex(ethDst) +
    macHex(sender.mac) +
    '0806' +
    '000108000604' + // Ethernet, IPv4, 6-byte and 4-byte addresses
    `000${op}` +
    macHex(sender.mac) +
    ipHex(sender.ip) +
    macHex(op === 1 ? '00:00:00:00:00:00' : target.mac) +
    ipHex(target.ip)
  );
}

interface Arp {
  op: number;
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

/** The ARP packet in a frame's hex, or undefined when it is not ARP. */
function parseArp(hex: string): Arp | undefined {
  if (hex.slice(24, 28) !== '0806' || hex.length < 84) return undefined;
  return {
    op: parseInt(hex.slice(40, 44), 16),
    senderMac: hexMac(hex.slice(44, 56)),
    senderIp: hexIp(hex.slice(56, 64)),
    targetIp: hexIp(hex.slice(76, 84)),
  };
}

async function agent(t: { context: Ctx }, host: Host, user: AgentUser = 'root'): Promise<PacketAgent> {
  const a = await PacketAgent.start(t.context.lan, host, user);
  t.context.agents.push(a);
  return a;
}

/** Link-layer multicast addresses of a host's eth0 (`ip maddr`). */
async function maddrs(lan: Lan, host: Host): Promise<string> {
  return (await lan.exec(host, ['ip', 'maddr', 'show', 'dev', 'eth0'])).stdout;
}

if (!root) {
  test('packet sockets (need root)', (t) => {
    t.log('skipped: network namespaces and packet sockets need root; run ./scripts/test as root');
    t.pass();
  });
} else {
  test.before(async (t) => {
    t.context.agents = [];
    t.context.lan = await createLan({ hosts: 2, prefix: 'mlbp' });
  });
  test.afterEach.always(async (t) => {
    await Promise.all(t.context.agents.splice(0).map((a) => a.stop()));
  });
  test.after.always(async (t) => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await t.context.lan?.teardown();
  });

  test.serial('interfaceInfo reads a host eth0; an unknown name is InterfaceNotFoundError', async (t) => {
    const { lan } = t.context;
    const h1 = lan.host('h1');
    const a = await agent(t, h1);
    const info = await a.op<{ index: number; mac: string; mtu: number; up: boolean; running: boolean }>(
      'info',
      {
        ifname: 'eth0',
      },
    );
    t.like(info, { mac: h1.mac, mtu: 1500, up: true, running: true });
    t.true(info.index > 1);
    const err = await t.throwsAsync(a.op('info', { ifname: 'nope0' }), { instanceOf: AgentOpError });
    t.is(err.error.name, 'InterfaceNotFoundError');
    t.throws(() => interfaceInfo('x'.repeat(20)), { instanceOf: InterfaceNotFoundError });
    t.is(interfaceInfo('lo').mac, '00:00:00:00:00:00');
  });

  test.serial(
    'arping a VIP: h1 sees the request as broadcast, and its reply reaches the client',
    async (t) => {
      const { lan } = t.context;
      const [h1, cl] = [lan.host('h1'), lan.client as Host];
      const vip = '198.51.100.7'; // in lan.vipRange4, on no host
      const [a1, acl] = await Promise.all([agent(t, h1), agent(t, cl)]);
      await a1.op('open', { name: 'arp', ifname: 'eth0', ethertype: ETH_P_ALL, filter: filterHex(ARP_ONLY) });
      await acl.op('open', { name: 'arp', ifname: 'eth0', ethertype: ETH_P_ARP });

      const arping = lan.exec(cl, ['arping', '-c', '1', '-w', '5', '-I', 'eth0', vip]);
      const request = await waitFor('the ARP request at h1', () =>
        a1.frames('arp').find((f) => parseArp(f.hex)?.targetIp === vip),
      );
      t.is(request.pktType, 'broadcast');
      t.is(request.hex.slice(0, 12), macHex(BROADCAST));
      t.like(parseArp(request.hex), { op: 1, senderMac: cl.mac, senderIp: cl.ipv4 });
      t.true(
        a1.frames('arp').every((f) => f.hex.slice(24, 28) === '0806'),
        'the filter lets only ARP through',
      );

      await a1.op('send', {
        name: 'arp',
        hex: arpFrame(2, { mac: h1.mac, ip: vip }, { mac: cl.mac, ip: cl.ipv4 }),
      });
      const r = await arping;
      t.is(r.code, 0, r.stdout + r.stderr);
      t.regex(r.stdout.toLowerCase(), new RegExp(`reply from ${vip.replaceAll('.', '\\.')} \\[${h1.mac}\\]`));
      const reply = await waitFor('the reply at the client socket', () =>
        acl.frames('arp').find((f) => parseArp(f.hex)?.op === 2 && parseArp(f.hex)?.senderIp === vip),
      );
      t.is(reply.pktType, 'host');
      t.is(parseArp(reply.hex)?.senderMac, h1.mac);
    },
  );

  test.serial(
    'filters: ETH_P_ALL with ARP-only sees no IPv4; own frames come back only to ETH_P_ALL, as outgoing',
    async (t) => {
      const { lan } = t.context;
      const [h1, cl] = [lan.host('h1'), lan.client as Host];
      const a1 = await agent(t, h1);
      await a1.op('open', { name: 'all', ifname: 'eth0', ethertype: ETH_P_ALL });
      await a1.op('open', {
        name: 'arp-only',
        ifname: 'eth0',
        ethertype: ETH_P_ALL,
        filter: filterHex(ARP_ONLY),
      });
      await a1.op('open', { name: 'none', ifname: 'eth0', ethertype: ETH_P_ALL, filter: filterHex(NOTHING) });
      await a1.op('open', { name: 'arp', ifname: 'eth0', ethertype: ETH_P_ARP });

      const ping = await lan.exec(cl, ['ping', '-c', '1', '-W', '2', h1.ipv4]);
      t.is(ping.code, 0, ping.stderr);
      await waitFor('the echo request at the unfiltered socket', () =>
        a1.frames('all').some((f) => f.hex.slice(24, 28) === '0800' && f.pktType === 'host'),
      );

      // A frame we send: a gratuitous ARP request for a VIP.
      const garp = arpFrame(1, { mac: h1.mac, ip: '198.51.100.9' }, { mac: BROADCAST, ip: '198.51.100.9' });
      await a1.op('send', { name: 'arp', hex: garp });
      const own = await waitFor('our own frame on the ARP-only ETH_P_ALL socket', () =>
        a1.frames('arp-only').find((f) => f.hex === garp),
      );
      t.is(own.pktType, 'outgoing');
      await waitFor('our own frame on the unfiltered socket', () =>
        a1.frames('all').find((f) => f.hex === garp),
      );
      t.true(
        a1.frames('arp-only').every((f) => f.hex.slice(24, 28) === '0806'),
        'no IPv4 frame through the ARP-only filter',
      );
      t.false(
        a1.frames('arp').some((f) => f.hex === garp),
        'an ETH_P_ARP socket does not see what this host sends',
      );
      t.deepEqual(a1.frames('none'), [], 'a drop-all filter delivers nothing');
      const stats = await a1.op<{ received: number; dropped: number }>('stats', { name: 'arp-only' });
      t.true(stats.received >= a1.frames('arp-only').length);
      t.is(stats.dropped, 0);
    },
  );

  test.serial(
    'join and leave a link-layer multicast group (ip maddr shows it, joins counted); close drops it',
    async (t) => {
      const { lan } = t.context;
      const h1 = lan.host('h1');
      const group = '33:33:ff:00:00:07'; // the solicited-node group of …::7
      const a1 = await agent(t, h1);
      await a1.op('open', { name: 'ndp', ifname: 'eth0', ethertype: 0x86dd });
      t.false((await maddrs(lan, h1)).includes(group));
      await a1.op('join', { name: 'ndp', mac: group });
      await a1.op('join', { name: 'ndp', mac: group });
      t.true((await maddrs(lan, h1)).includes(group));
      await a1.op('leave', { name: 'ndp', mac: group });
      t.true((await maddrs(lan, h1)).includes(group), 'joins are counted: one leave of two joins keeps it');
      await a1.op('leave', { name: 'ndp', mac: group });
      t.false((await maddrs(lan, h1)).includes(group));
      await a1.op('leave', { name: 'ndp', mac: group }); // not a member: the kernel says nothing
      t.false((await maddrs(lan, h1)).includes(group));
      await a1.op('join', { name: 'ndp', mac: group });
      await a1.op('close', { name: 'ndp' });
      await waitFor(
        'the group gone after close',
        async () => !(await maddrs(lan, h1)).includes(group),
        5_000,
      );
      t.pass();
    },
  );

  test.serial('as nobody without capabilities: PacketSocketPermissionError naming CAP_NET_RAW', async (t) => {
    const { lan } = t.context;
    const a = await agent(t, lan.host('h2'), 'nobody');
    t.is(a.uid, 65534);
    const info = await a.op<{ up: boolean }>('info', { ifname: 'eth0' });
    t.true(info.up, 'reading interface facts needs no privilege');
    const err = await t.throwsAsync(a.op('open', { name: 'a', ifname: 'eth0', ethertype: ETH_P_ARP }), {
      instanceOf: AgentOpError,
    });
    t.is(err.error.name, 'PacketSocketPermissionError');
    t.is(err.error.code, 'EPERM');
    t.regex(err.error.message, /CAP_NET_RAW/);
    t.regex(err.error.message, /NET_RAW/);
  });

  test.serial('as nobody with only CAP_NET_RAW: opens and receives', async (t) => {
    const { lan } = t.context;
    const [h2, cl] = [lan.host('h2'), lan.client as Host];
    const a = await agent(t, h2, 'nobody+net_raw');
    t.is(a.uid, 65534);
    await a.op('open', { name: 'a', ifname: 'eth0', ethertype: ETH_P_ARP, filter: filterHex(ARP_ONLY) });
    const vip = '198.51.100.8';
    const arping = lan.exec(cl, ['arping', '-c', '1', '-w', '1', '-I', 'eth0', vip]);
    const f = await waitFor('the ARP request at the unprivileged socket', () =>
      a.frames('a').find((x) => parseArp(x.hex)?.targetIp === vip),
    );
    t.is(f.pktType, 'broadcast');
    await arping;
  });

  test.serial(
    'LinkMonitor: the dumped state, then link down and up, addresses added and removed',
    async (t) => {
      const { lan } = t.context;
      const h1 = lan.host('h1');
      const a = await agent(t, h1);
      const { index } = await a.op<{ index: number }>('info', { ifname: 'eth0' });
      const monitor =
        (
          pred: (v: Record<string, unknown>) => boolean,
          from = 0,
        ): (() => Record<string, unknown> | undefined) =>
        () =>
          a.events
            .slice(from)
            .filter((e) => e.event === 'link-monitor')
            .map((e) => e.value ?? {})
            .find(pred);
      const eth0 = (v: Record<string, unknown>): boolean => v.kind === 'link' && v.index === index;

      await a.op('monitor-start');
      await waitFor('the initial dump', () => a.events.some((e) => e.event === 'sync'));
      t.like(monitor(eth0)(), {
        action: 'new',
        name: 'eth0',
        mac: h1.mac,
        operState: 'up',
        lowerUp: true,
        mtu: 1500,
      });
      t.like(monitor((v) => v.kind === 'address' && v.address === h1.ipv4)(), {
        action: 'new',
        family: 4,
        prefixLength: 24,
        index,
      });
      t.truthy(monitor((v) => v.kind === 'address' && v.address === h1.ipv6)());

      let from = a.events.length;
      await lan.linkDown(h1);
      const down = await waitFor(
        'eth0 down',
        monitor((v) => eth0(v) && v.lowerUp === false, from),
      );
      t.like(down, { action: 'new', running: false, up: true });
      t.not(down.operState, 'up');

      from = a.events.length;
      await lan.linkUp(h1);
      const up = await waitFor(
        'eth0 up',
        monitor((v) => eth0(v) && v.lowerUp === true, from),
      );
      t.like(up, { running: true, operState: 'up' });

      from = a.events.length;
      t.is((await lan.exec(h1, ['ip', 'addr', 'add', '198.51.100.99/32', 'dev', 'eth0'])).code, 0);
      t.like(
        await waitFor(
          'address added',
          monitor((v) => v.kind === 'address' && v.address === '198.51.100.99', from),
        ),
        {
          action: 'new',
          family: 4,
          prefixLength: 32,
          index,
        },
      );
      from = a.events.length;
      t.is((await lan.exec(h1, ['ip', 'addr', 'del', '198.51.100.99/32', 'dev', 'eth0'])).code, 0);
      t.truthy(
        await waitFor(
          'address removed',
          monitor((v) => v.action === 'del' && v.address === '198.51.100.99', from),
        ),
      );
      from = a.events.length;
      t.is((await lan.exec(h1, ['ip', 'addr', 'add', 'fd00:6d6c::99/128', 'dev', 'eth0', 'nodad'])).code, 0);
      t.like(
        await waitFor(
          'IPv6 address added',
          monitor((v) => v.address === 'fd00:6d6c::99', from),
        ),
        {
          kind: 'address',
          action: 'new',
          family: 6,
          prefixLength: 128,
        },
      );
      await lan.exec(h1, ['ip', 'addr', 'del', 'fd00:6d6c::99/128', 'dev', 'eth0']);

      await a.op('monitor-stop');
      from = a.events.length;
      await lan.exec(h1, ['ip', 'addr', 'add', '198.51.100.98/32', 'dev', 'eth0']);
      await a.op('fds'); // a round trip after the change: any event would have been printed before the reply
      t.deepEqual(
        a.events.slice(from).filter((e) => e.event === 'link-monitor'),
        [],
        'no event after stop()',
      );
      await lan.exec(h1, ['ip', 'addr', 'del', '198.51.100.98/32', 'dev', 'eth0']);
      t.deepEqual(
        a.events.filter((e) => e.event === 'error'),
        [],
      );
    },
  );

  for (const threaded of [false, true]) {
    const mode = threaded ? ' (threaded receive)' : '';
    test.serial(
      `close: twice is harmless, nothing is delivered after it, the fd is released${mode}`,
      async (t) => {
        const { lan } = t.context;
        const [h1, cl] = [lan.host('h1'), lan.client as Host];
        const [a1, acl] = await Promise.all([agent(t, h1), agent(t, cl)]);
        await acl.op('open', { name: 'tx', ifname: 'eth0', ethertype: ETH_P_ARP });
        await a1.op('open', {
          name: 'closing',
          ifname: 'eth0',
          ethertype: ETH_P_ARP,
          answerInThread: threaded,
        });
        await a1.op('open', { name: 'witness', ifname: 'eth0', ethertype: ETH_P_ARP });
        const request = (n: number): string =>
          arpFrame(1, { mac: cl.mac, ip: cl.ipv4 }, { mac: BROADCAST, ip: `198.51.100.${100 + n}` });

        await acl.op('send', { name: 'tx', hex: request(0) });
        await waitFor('the first request on both sockets', () =>
          ['closing', 'witness'].every((s) => a1.frames(s).some((f) => f.hex.startsWith(request(0)))),
        );
        const fds = await a1.op<number>('fds');
        t.deepEqual(await a1.op('close', { name: 'closing' }), { closed: true });
        for (let n = 1; n <= 5; n++) await acl.op('send', { name: 'tx', hex: request(n) });
        await waitFor('the later requests at the witness', () =>
          a1.frames('witness').some((f) => f.hex.startsWith(request(5))),
        );
        // Threaded: its eventfd goes too.
        const released = threaded ? 2 : 1;
        await waitFor(
          'the closed socket fd released',
          async () => (await a1.op<number>('fds')) === fds - released,
        );
        t.is(a1.frames('closing').length, 1);
        t.false(a1.frames('closing').some((f) => f.afterClose));
        const err = await t.throwsAsync(a1.op('send', { name: 'closing', hex: request(6) }), {
          instanceOf: AgentOpError,
        });
        t.like(err.error, { name: 'PacketSocketError', code: 'EBADF' });
      },
    );

    test.serial(
      `interface set down: ENETDOWN to onError, and frames resume once it is up again${mode}`,
      async (t) => {
        const { lan } = t.context;
        const [h2, cl] = [lan.host('h2'), lan.client as Host];
        const [a2, acl] = await Promise.all([agent(t, h2), agent(t, cl)]);
        await acl.op('open', { name: 'tx', ifname: 'eth0', ethertype: ETH_P_ARP });
        await a2.op('open', { name: 'rx', ifname: 'eth0', ethertype: ETH_P_ARP, answerInThread: threaded });
        const request = (n: number): string =>
          arpFrame(1, { mac: cl.mac, ip: cl.ipv4 }, { mac: BROADCAST, ip: `198.51.100.${200 + n}` });

        t.is((await lan.exec(h2, ['ip', 'link', 'set', 'eth0', 'down'])).code, 0);
        const down = await waitFor('the error event', () => a2.events.find((e) => e.event === 'error'));
        t.like(down.error, { name: 'PacketSocketError', code: 'ENETDOWN' });
        t.is((await lan.exec(h2, ['ip', 'link', 'set', 'eth0', 'up'])).code, 0);
        // Setting eth0 down removed its routes: restore the on-link VIP route for later tests.
        await lan.exec(h2, ['ip', 'route', 'replace', lan.vipRange4, 'dev', 'eth0']);
        await waitFor('a frame after the interface came back', async () => {
          await acl.op('send', { name: 'tx', hex: request(1) });
          return a2.frames('rx').some((f) => f.hex.startsWith(request(1)));
        });
        t.is(a2.events.filter((e) => e.event === 'error').length, 1);
      },
    );
  }

  test.serial('sockets dropped without close are closed by the garbage collector', async (t) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const native = loadAddon();
    const count = (): number => readdirSync('/proc/self/fd').length;
    const before = count();
    for (let i = 0; i < 20; i++) {
      native.openNetlink(0);
      native.openPacket(1, ETH_P_ARP, null); // lo, in this process's namespace: never started
    }
    t.is(count(), before + 40);
    await waitFor('every dropped socket closed', () => {
      gc();
      return count() === before;
    });
  });
}
