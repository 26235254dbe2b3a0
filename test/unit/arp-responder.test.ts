import test from 'ava';
import fc from 'fast-check';
import * as codec from '../../src/arp/codec/index.ts';
import type { Link } from '../../src/arp/link.ts';
import { Responder, type WireEvent } from '../../src/arp/index.ts';
import { VirtualClock } from '../../src/clock/index.ts';
import type { PktType } from '../../src/arp/packet-socket.ts';

const OURS = '02:00:00:00:00:01';
const CLIENT = '02:00:00:00:00:aa';
const OTHER = '02:00:00:00:00:bb';
const VIP4 = '198.51.100.7';
const VIP6 = 'fd00::7';
const CLIENT4 = '192.0.2.250';
const CLIENT6 = 'fd00::250';

class FakeLink implements Link {
  readonly sent: codec.ParsedFrame[] = [];
  readonly groups = new Set<string>();
  failing = false;
  readonly name: string;
  readonly mac: string;
  constructor(name = 'eth0', mac = OURS) {
    this.name = name;
    this.mac = mac;
  }
  send(frame: Uint8Array): void {
    if (this.failing) throw new Error('ENETDOWN');
    this.sent.push(codec.parseFrame(frame));
  }
  join(mac: string): void {
    this.groups.add(mac);
  }
  leave(mac: string): void {
    this.groups.delete(mac);
  }
  take(): codec.ParsedFrame[] {
    return this.sent.splice(0);
  }
}

function setup(config = {}, peerOf?: (mac: string) => string | undefined, holdOnLinkUp = false) {
  const clock = new VirtualClock();
  const events: WireEvent[] = [];
  const r = new Responder({
    clock,
    config,
    onEvent: (e) => events.push(e),
    random: () => 0.5,
    holdOnLinkUp,
    ...(peerOf === undefined ? {} : { peerOf }),
  });
  const link = new FakeLink();
  r.addLink(link, true);
  events.length = 0; // the link's own event; tests of links read it themselves
  const rx = (data: Uint8Array, pktType: PktType = 'broadcast', on = link.name): void => {
    r.receive(on, { data, pktType });
  };
  return { clock, events, r, link, rx };
}

const whoHas = (ip: string, from = CLIENT, fromIp = CLIENT4): Buffer =>
  codec.buildArpFrame(
    { op: 'request', senderMac: from, senderIp: fromIp, targetMac: codec.ZERO_MAC, targetIp: ip },
    { dst: codec.BROADCAST_MAC, src: from },
  );

const solicit = (target: string, hopLimit = 255): Buffer => {
  const group = codec.solicitedNodeAddress(target);
  return codec.buildNdpFrame(
    { kind: 'ns', target, sourceLinkLayer: CLIENT },
    { srcMac: CLIENT, dstMac: codec.ipv6MulticastMac(group), srcIp: CLIENT6, dstIp: group, hopLimit },
  );
};

test('an announced IPv4 address: a burst of gratuitous ARP requests, then a slow refresh', (t) => {
  const { clock, link, r, events } = setup();
  r.announce(VIP4);
  t.deepEqual(events, [{ type: 'announcing', ip: VIP4, ifname: 'eth0', probed: false }]);
  const first = link.take();
  t.is(first.length, 1, 'the first frame goes at once');
  const f = first[0];
  t.true(f?.kind === 'arp' && f.arp.op === 'request' && codec.isArpAnnouncement(f.arp));
  t.is(f?.ethernet.dst, codec.BROADCAST_MAC);
  clock.advance(300);
  t.is(link.take().length, 3, '4 frames 100 ms apart');
  clock.advance(50_000);
  t.is(link.take().length, 0);
  clock.advance(10_001); // 60 s × (0.9 + 0.2 × 0.5)
  t.is(link.take().length, 1, 'refresh after 60 s');
  t.deepEqual(r.stats().announcements, { arp: 5, ndp: 0 });
  t.deepEqual(r.stats().bursts, { arp: 1, ndp: 0 }, 'one burst; the refresh is not one');
});

test('answers who-has for an announced IP with its MAC, to the requester, and nothing else', (t) => {
  const { link, r, rx } = setup();
  r.announce(VIP4);
  link.take();
  rx(whoHas(VIP4));
  const [reply] = link.take();
  if (reply?.kind !== 'arp') return t.fail('no ARP reply');
  t.like(reply.arp, { op: 'reply', senderMac: OURS, senderIp: VIP4, targetMac: CLIENT, targetIp: CLIENT4 });
  t.is(reply.ethernet.dst, CLIENT);
  rx(whoHas('198.51.100.8'));
  t.is(link.take().length, 0, 'an IP not announced gets no answer');
  t.is(r.stats().dropped['not-ours'], 1);
  t.is(r.stats().answered.arp, 1);
});

test('frames for another host, our own frames and garbage are dropped and counted', (t) => {
  const { link, r, rx } = setup();
  r.announce(VIP4);
  link.take();
  rx(whoHas(VIP4), 'otherhost');
  rx(whoHas(VIP4), 'outgoing');
  rx(whoHas(VIP4, OURS));
  rx(Uint8Array.of(1, 2, 3));
  t.is(link.take().length, 0);
  const d = r.stats().dropped;
  t.is(d.otherhost, 1);
  t.is(d.own, 2);
  t.is(d.malformed, 1);
});

test('no input makes receive throw, and nothing but an announced IP is ever answered', (t) => {
  const { link, r, rx } = setup();
  r.announce(VIP4);
  r.announce(VIP6);
  link.take();
  const ip4 = fc.constantFrom(VIP4, '198.51.100.8', CLIENT4, '0.0.0.0');
  const ip6 = fc.constantFrom(VIP6, 'fd00::8', CLIENT6);
  const valid = fc.oneof(
    ip4.map((ip) => whoHas(ip)),
    ip6.map((ip) => solicit(ip)),
    fc.tuple(ip4, ip4).map(([s, d]) => whoHas(d, OTHER, s)),
  );
  // Valid frames, the same with bytes flipped, and noise.
  const mutated = fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }))
    .map(([f, flips]) => {
      const b = Buffer.from(f);
      for (const [i, x] of flips) if (i < b.length) b[i] = (b[i] ?? 0) ^ x;
      return b;
    });
  const input = fc.oneof(valid, mutated, fc.uint8Array({ maxLength: 200 }));
  let answered = 0;
  fc.assert(
    fc.property(input, fc.constantFrom<PktType>('host', 'broadcast', 'multicast'), (b, p) => {
      rx(b, p);
      for (const f of link.take()) {
        answered++;
        const ip = f.kind === 'arp' ? f.arp.senderIp : f.target;
        if (ip !== VIP4 && ip !== VIP6) throw new Error(`answered for ${ip}`);
      }
    }),
    { numRuns: 2_000 },
  );
  t.true(answered > 0, 'valid requests among the inputs were answered');
});

test('IPv6: joins the solicited-node group, answers NS from the VIP with hop limit 255 and override', (t) => {
  const { link, r, rx } = setup();
  r.announce(VIP6);
  t.true(link.groups.has(codec.solicitedNodeMac(VIP6)));
  const [una] = link.take();
  t.true(una?.kind === 'na' && una.override && !una.solicited && una.ipv6.dst === codec.ALL_NODES_IPV6);
  rx(solicit(VIP6), 'multicast');
  const [na] = link.take();
  if (na?.kind !== 'na') return t.fail('no NA');
  t.like(na, { target: VIP6, solicited: true, override: true, router: false, targetLinkLayer: OURS });
  t.like(na.ipv6, { src: VIP6, dst: CLIENT6, hopLimit: 255 });
  t.is(na.ethernet.dst, CLIENT);
});

test('IPv6: a solicitation with hop limit 64 is ignored and counted', (t) => {
  const { link, r, rx } = setup();
  r.announce(VIP6);
  link.take();
  rx(solicit(VIP6, 64), 'multicast');
  t.is(link.take().length, 0);
  t.is(r.stats().dropped['hop-limit'], 1);
  t.is(r.stats().answered.ndp, 0);
});

test('IPv6: a DAD probe for our VIP is defended to all-nodes and, after the grace, reported', (t) => {
  const { clock, link, r, rx, events } = setup();
  r.announce(VIP6);
  clock.advance(2_500);
  link.take();
  rx(codec.dadSolicitation(OTHER, VIP6), 'multicast');
  const [na] = link.take();
  t.true(na?.kind === 'na' && !na.solicited && na.ipv6.dst === codec.ALL_NODES_IPV6);
  t.like(events.at(-1), { type: 'conflict', ip: VIP6, foreignMac: OTHER, evidence: 'dad' });
});

test('withdraw: stops answering at once, leaves the group, cancels the refresh', (t) => {
  const { clock, link, r, rx, events } = setup();
  r.announce(VIP6);
  r.withdraw(VIP6);
  t.like(events.at(-1), { type: 'withdrawn', ip: VIP6 });
  t.false(link.groups.has(codec.solicitedNodeMac(VIP6)));
  link.take();
  rx(solicit(VIP6), 'multicast');
  clock.advance(600_000);
  t.is(link.take().length, 0);
});

test('a new IP is probed first: no answers until probeWaitMs, then the burst', (t) => {
  const { clock, link, r, rx, events } = setup();
  r.announce(VIP4, { probe: true });
  const [probe] = link.take();
  t.true(probe?.kind === 'arp' && codec.isArpProbe(probe.arp));
  rx(whoHas(VIP4));
  t.is(link.take().length, 0, 'not answering while probing');
  clock.advance(100);
  t.is(link.take().length, 1, 'a second probe');
  clock.advance(100);
  t.like(events.at(-1), { type: 'announcing', probed: true });
  t.is(link.take().length, 1, 'first gratuitous ARP');
  t.is(r.stats().probes, 2);
});

test('a host answering the probe is reported as a conflict at once, with its MAC', (t) => {
  const { link, r, rx, events } = setup();
  r.announce(VIP4, { probe: true });
  link.take();
  // Linux answers a probe to the prober's MAC.
  rx(
    codec.buildArpFrame(
      { op: 'reply', senderMac: OTHER, senderIp: VIP4, targetMac: OURS, targetIp: '0.0.0.0' },
      { dst: OURS, src: OTHER },
    ),
    'host',
  );
  t.like(events.at(-1), { type: 'conflict', ip: VIP4, foreignMac: OTHER, evidence: 'probe-answered' });
  t.is(r.stats().conflicts, 1);
});

test("another speaker's MAC using the IP is a peer answer (claims settling), never a conflict", (t) => {
  const { clock, link, r, rx, events } = setup({}, (mac) => (mac === OTHER ? 'n2' : undefined));
  r.announce(VIP4);
  link.take();
  clock.advance(2_000);
  rx(codec.gratuitousArpRequest(OTHER, VIP4));
  t.deepEqual(
    events.filter((e) => e.type === 'conflict' || e.type === 'peer-answer'),
    [{ type: 'peer-answer', ip: VIP4, ifname: 'eth0', mac: OTHER, node: 'n2' }],
  );
  t.like(r.stats(), { conflicts: 0, peerAnswers: 1 });
});

test('while announcing: another MAC using the IP is a conflict after the hand-off grace, reported once per interval', (t) => {
  const { clock, link, r, rx, events } = setup();
  r.announce(VIP4);
  link.take();
  const garp = codec.gratuitousArpRequest(OTHER, VIP4);
  rx(garp);
  t.is(events.filter((e) => e.type === 'conflict').length, 0, 'the previous announcer overlaps on purpose');
  clock.advance(2_000);
  rx(garp);
  rx(garp);
  t.is(events.filter((e) => e.type === 'conflict').length, 1);
  t.like(events.at(-1), { type: 'conflict', foreignMac: OTHER, evidence: 'arp-sender' });
  const sent = link.take().filter((f) => f.kind === 'arp' && f.arp.op === 'reply');
  t.is(sent.length, 0, 'a conflict is never fought with extra frames');
  clock.advance(60_000);
  rx(garp);
  t.is(events.filter((e) => e.type === 'conflict').length, 2);
});

test('interfaces: an IP limited to eth1 is not answered on eth0; a link added later gets the IP', (t) => {
  const { link, r, rx } = setup();
  r.announce(VIP4, { interfaces: ['eth1'] });
  rx(whoHas(VIP4));
  t.is(link.take().length, 0);
  const eth1 = new FakeLink('eth1', '02:00:00:00:00:02');
  r.addLink(eth1, true);
  t.is(eth1.take().length, 1, 'burst starts on the new link');
  rx(whoHas(VIP4), 'broadcast', 'eth1');
  const [reply] = eth1.take();
  t.true(reply?.kind === 'arp' && reply.arp.senderMac === '02:00:00:00:00:02');
  t.deepEqual([...r.announced()], [['eth1', [VIP4]]]);
});

test('a link going down stops sending; coming up sends a fresh burst', (t) => {
  const { clock, link, r, events } = setup();
  r.announce(VIP4);
  link.take();
  r.setLinkUp('eth0', false);
  clock.advance(120_000);
  t.is(link.take().length, 0);
  r.setLinkUp('eth0', true);
  r.setLinkUp('eth0', true); // no change: no event
  clock.advance(300);
  t.is(link.take().length, 4);
  t.deepEqual(
    events.filter((e) => e.type === 'link'),
    [
      { type: 'link', ifname: 'eth0', up: false },
      { type: 'link', ifname: 'eth0', up: true },
    ],
  );
});

test('holdOnLinkUp: a link back up answers and sends nothing until released, then bursts', (t) => {
  const { clock, link, r, rx } = setup({}, undefined, true);
  r.announce(VIP4);
  r.announce(VIP6);
  r.announce('198.51.100.8', { probe: true });
  clock.advance(10_000);
  link.take();
  t.deepEqual(r.held(), []);
  r.setLinkUp('eth0', false);
  r.setLinkUp('eth0', true);
  t.deepEqual(r.held(), ['eth0']);
  rx(whoHas(VIP4));
  rx(solicit(VIP6));
  r.reannounce(VIP4); // a rival's lost claim does not break the hold either
  clock.advance(120_000);
  t.deepEqual(link.take(), [], 'no answer, no burst, no refresh, no probe while held');
  t.is(r.stats().dropped.held, 2);
  r.release('eth0');
  r.release('eth0'); // not held any more: nothing
  t.deepEqual(r.held(), []);
  clock.advance(300);
  const burst = link.take();
  t.is(burst.filter((f) => f.kind === 'arp' && f.arp.senderIp === VIP4).length, 4);
  t.is(burst.filter((f) => f.kind === 'na').length, 4);
  rx(whoHas(VIP4));
  t.is(link.take().length, 1, 'answered again');
});

test('holdOnLinkUp: what is withdrawn while held is never sent; a new link is not held', (t) => {
  const { link, r, rx } = setup({}, undefined, true);
  r.announce(VIP4);
  link.take();
  r.setLinkUp('eth0', false);
  r.setLinkUp('eth0', true);
  r.withdraw(VIP4);
  r.release('eth0');
  rx(whoHas(VIP4));
  t.deepEqual(link.take(), []);
  const eth1 = new FakeLink('eth1', '02:00:00:00:00:02');
  r.addLink(eth1, true);
  r.announce(VIP4);
  t.deepEqual(r.held(), []);
  t.true(eth1.take().length > 0, 'burst on the new link at once');
});

test('link events: added (with its state) and removed (down)', (t) => {
  const { r, events } = setup();
  const eth1 = new FakeLink('eth1', '02:00:00:00:00:02');
  r.addLink(eth1, false);
  r.removeLink('eth0');
  r.removeLink('eth1');
  t.deepEqual(
    events.filter((e) => e.type === 'link'),
    [
      { type: 'link', ifname: 'eth1', up: false },
      { type: 'link', ifname: 'eth0', up: false },
      { type: 'link', ifname: 'eth1', up: false },
    ],
  );
});

test('a failing send is counted and reported, and the responder carries on', (t) => {
  const { link, r, events, rx } = setup();
  link.failing = true;
  r.announce(VIP4);
  t.is(r.stats().sendErrors, 1);
  t.like(events.at(-1), { type: 'send-failed', ifname: 'eth0' });
  link.failing = false;
  rx(whoHas(VIP4));
  t.is(link.take().length, 1);
});

test('addresses are canonical: two spellings of one IPv6 address are one announcement', (t) => {
  const { r } = setup();
  r.announce('fd00:0:0::7');
  r.announce('FD00::7');
  t.deepEqual([...r.announced()], [['eth0', [VIP6]]]);
  t.throws(
    () => {
      r.announce('not-an-ip');
    },
    { name: 'InvalidAddressError' },
  );
});
