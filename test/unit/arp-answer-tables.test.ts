// What each link may answer on its own (Link.answer, src/arp/answer-tables.ts):
// always a subset of what the responder answers itself.
import test from 'ava';
import * as codec from '../../src/arp/codec/index.ts';
import type { Link, LinkAnswers } from '../../src/arp/link.ts';
import { Responder } from '../../src/arp/index.ts';
import { VirtualClock } from '../../src/clock/index.ts';

const VIP4 = '198.51.100.7';
const VIP4B = '198.51.100.8';
const VIP6 = 'fd00::7';

class TableLink implements Link {
  readonly name: string;
  readonly mac = '02:00:00:00:00:01';
  readonly sent: Uint8Array[] = [];
  readonly pushed: LinkAnswers[] = [];
  constructor(name = 'eth0') {
    this.name = name;
  }
  send(frame: Uint8Array): void {
    this.sent.push(frame);
  }
  join(): void {}
  leave(): void {}
  answer(tables: LinkAnswers): void {
    this.pushed.push(tables);
  }
  /** The last tables, as address texts. */
  now(): { v4: string[]; v4Known: string[]; v6: string[]; v6Known: string[] } {
    const t = this.pushed.at(-1);
    const split = (b: Uint8Array | undefined, w: number, str: (x: Uint8Array) => string): string[] =>
      b === undefined
        ? []
        : Array.from({ length: b.length / w }, (_, i) => str(b.subarray(i * w, i * w + w)));
    return {
      v4: split(t?.v4.answer, 4, codec.ipv4ToString),
      v4Known: split(t?.v4.known, 4, codec.ipv4ToString),
      v6: split(t?.v6.answer, 16, codec.ipv6ToString),
      v6Known: split(t?.v6.known, 16, codec.ipv6ToString),
    };
  }
}

function setup(holdOnLinkUp = false) {
  const clock = new VirtualClock();
  const r = new Responder({ clock, config: { probeWaitMs: 200 }, random: () => 0.5, holdOnLinkUp });
  const link = new TableLink();
  r.addLink(link, true);
  return { clock, r, link };
}

const tick = (): Promise<void> => Promise.resolve();

test('a link answers on its own what the responder answers: added in a microtask, withdrawn at once', async (t) => {
  const { clock, r, link } = setup();
  r.announce(VIP4);
  r.announce(VIP6);
  r.announce(VIP4B, { probe: true });
  t.is(link.pushed.length, 0, 'additions wait for the microtask (one push for a burst of announces)');
  await tick();
  t.is(link.pushed.length, 1);
  t.deepEqual(link.now(), { v4: [VIP4], v4Known: [VIP4, VIP4B], v6: [VIP6], v6Known: [VIP6] });
  clock.advance(200); // the probe is over: VIP4B is answered
  await tick();
  t.deepEqual(link.now().v4, [VIP4, VIP4B]);
  r.withdraw(VIP4);
  t.deepEqual(link.now().v4, [VIP4B], 'gone from the link before withdraw() returned');
  await tick();
  t.deepEqual(link.now().v4Known, [VIP4B], 'and no longer known, a microtask later');
  const pushes = link.pushed.length;
  r.announce(VIP4B); // nothing changes
  await tick();
  t.is(link.pushed.length, pushes, 'only changes are pushed');
});

test('an IP limited to other interfaces is known but not answered on this one', async (t) => {
  const { r, link } = setup();
  const eth1 = new TableLink('eth1');
  r.addLink(eth1, true);
  r.announce(VIP4, { interfaces: ['eth1'] });
  await tick();
  t.deepEqual(link.now().v4, []);
  t.deepEqual(link.now().v4Known, [VIP4]);
  t.deepEqual(eth1.now().v4, [VIP4]);
});

test('a link down, or back up and held, answers nothing on its own until released', async (t) => {
  const { r, link } = setup(true);
  r.announce(VIP4);
  await tick();
  t.deepEqual(link.now().v4, [VIP4]);
  r.setLinkUp('eth0', false);
  t.deepEqual(link.now().v4, [], 'emptied before setLinkUp(false) returned');
  r.setLinkUp('eth0', true);
  await tick();
  t.deepEqual(link.now().v4, [], 'held: still empty');
  r.release('eth0');
  await tick();
  t.deepEqual(link.now().v4, [VIP4]);
});

test('without the hold, a link back up answers on its own again', async (t) => {
  const { r, link } = setup(false);
  r.announce(VIP4);
  r.setLinkUp('eth0', false);
  t.deepEqual(link.now().v4, []);
  r.setLinkUp('eth0', true);
  await tick();
  t.deepEqual(link.now().v4, [VIP4]);
});

test('a frame the link answered is counted as answered and not answered again', async (t) => {
  const { r, link } = setup();
  r.announce(VIP4);
  await tick();
  const sent = link.sent.length;
  const request = codec.buildArpFrame(
    {
      op: 'request',
      senderMac: '02:00:00:00:00:aa',
      senderIp: '192.0.2.1',
      targetMac: codec.ZERO_MAC,
      targetIp: VIP4,
    },
    { dst: codec.BROADCAST_MAC, src: '02:00:00:00:00:aa' },
  );
  t.true(r.receive('eth0', { data: request, pktType: 'broadcast', answered: true }));
  t.is(link.sent.length, sent, 'no second answer');
  t.like(r.stats(), { requests: { arp: 1, ndp: 0 }, answered: { arp: 1, ndp: 0 } });
  t.true(r.receive('eth0', { data: request, pktType: 'broadcast' }));
  t.is(link.sent.length, sent + 1, 'not answered by the link: the responder answers');
});
