import test from 'ava';
import { AnnouncedIps, type Announced, type LinkState } from '../../src/arp/announced.ts';
import * as codec from '../../src/arp/codec/index.ts';
import { ipv4Number } from '../../src/arp/fast-arp.ts';
import { ipv6Hash } from '../../src/arp/fast-ndp.ts';
import { LinkIo } from '../../src/arp/link-io.ts';
import type { Link } from '../../src/arp/link.ts';
import type { WireEvent, WireStats } from '../../src/arp/responder-types.ts';

const entry = (ip: string): Announced => ({
  ip,
  v4: !ip.includes(':'),
  interfaces: undefined,
  probe: false,
  on: new Map(),
});

/** `ip` at offset 0 of a 16-byte buffer, with its fast-path hash. */
const at = (ip: string): [Uint8Array, number, number] => {
  const b = codec.ipv6ToBytes(ip);
  return [b, ipv6Hash(b), 0];
};

test('an announced IP is found by text and by bytes until it is deleted', (t) => {
  const ips = new AnnouncedIps();
  const v4 = entry('198.51.100.7');
  const v6 = entry('fd00::7');
  ips.add(v4);
  ips.add(v6);
  t.is(ips.get('198.51.100.7'), v4);
  t.is(ips.v4(ipv4Number(codec.ipv4ToBytes('198.51.100.7'))), v4);
  t.is(ips.v6(...at('fd00::7')), v6);
  t.deepEqual([...ips.keys()], ['198.51.100.7', 'fd00::7']);
  ips.delete(v4);
  ips.delete(v6);
  t.is(ips.get('198.51.100.7'), undefined);
  t.is(ips.v4(ipv4Number(codec.ipv4ToBytes('198.51.100.7'))), undefined);
  t.is(ips.v6(...at('fd00::7')), undefined);
  t.deepEqual([...ips.values()], []);
});

test('IPv6 addresses sharing a hash (same last 32 bits) are told apart, and deleting one keeps the other', (t) => {
  const ips = new AnnouncedIps();
  const a = entry('fd00::1:7');
  const b = entry('fd01::1:7');
  t.is(ipv6Hash(codec.ipv6ToBytes(a.ip)), ipv6Hash(codec.ipv6ToBytes(b.ip)));
  ips.add(a);
  ips.add(b);
  t.is(ips.v6(...at('fd00::1:7')), a);
  t.is(ips.v6(...at('fd01::1:7')), b);
  t.is(ips.v6(...at('fd02::1:7')), undefined, 'same hash, not announced');
  ips.delete(a);
  t.is(ips.v6(...at('fd00::1:7')), undefined);
  t.is(ips.v6(...at('fd01::1:7')), b);
});

class Recorder implements Link {
  readonly name = 'eth0';
  readonly mac = '02:00:00:00:00:01';
  readonly calls: string[] = [];
  failing = false;
  send(): void {
    if (this.failing) throw new Error('ENETDOWN');
    this.calls.push('send');
  }
  join(mac: string): void {
    this.calls.push(`join ${mac}`);
  }
  leave(mac: string): void {
    if (this.failing) throw new Error('ENODEV');
    this.calls.push(`leave ${mac}`);
  }
}

function io(): { link: Recorder; ls: LinkState; io: LinkIo; stats: WireStats; events: WireEvent[] } {
  const link = new Recorder();
  const ls: LinkState = { link, mac: codec.macToBytes(link.mac), up: true, held: false, groups: new Map() };
  const stats = { sendErrors: 0 } as WireStats;
  const events: WireEvent[] = [];
  return { link, ls, io: new LinkIo(stats, (e) => events.push(e)), stats, events };
}

test('a multicast group is joined once and left when its last user leaves', (t) => {
  const { link, ls, io: x } = io();
  x.join(ls, '33:33:ff:00:00:07');
  x.join(ls, '33:33:ff:00:00:07');
  x.leave(ls, '33:33:ff:00:00:07');
  t.deepEqual(link.calls, ['join 33:33:ff:00:00:07']);
  x.leave(ls, '33:33:ff:00:00:07');
  t.deepEqual(link.calls, ['join 33:33:ff:00:00:07', 'leave 33:33:ff:00:00:07']);
  t.is(ls.groups.size, 0);
});

test('a link that throws is counted and reported, and the next call still runs', (t) => {
  const { link, ls, io: x, stats, events } = io();
  x.join(ls, '33:33:ff:00:00:07');
  x.join(ls, '33:33:ff:00:00:08');
  link.failing = true;
  x.send(ls, new Uint8Array(60));
  x.leaveAll(ls);
  t.is(stats.sendErrors, 3);
  t.deepEqual(
    events.map((e) => (e.type === 'send-failed' ? `${e.ifname} ${e.error.message}` : e.type)),
    ['eth0 ENETDOWN', 'eth0 ENODEV', 'eth0 ENODEV'],
  );
  link.failing = false;
  x.send(ls, new Uint8Array(60));
  t.is(link.calls.at(-1), 'send');
});
