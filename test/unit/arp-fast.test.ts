import test from 'ava';
import fc from 'fast-check';
import * as codec from '../../src/arp/codec/index.ts';
import { arpReplyTo, arpRequestKey, fromMac, ipv4Number } from '../../src/arp/fast-arp.ts';
import { naReplyTo, nsKey } from '../../src/arp/fast-ndp.ts';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => codec.macToString(b));
const ip4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => codec.ipv4ToString(b));

test('the fast reply is byte for byte the codec reply, for any plain request', (t) => {
  fc.assert(
    fc.property(mac, mac, ip4, ip4, mac, (sender, ethSrc, senderIp, targetIp, ours) => {
      fc.pre(senderIp !== targetIp);
      const req = codec.buildArpFrame(
        { op: 'request', senderMac: sender, senderIp, targetMac: codec.ZERO_MAC, targetIp },
        { dst: codec.BROADCAST_MAC, src: ethSrc },
      );
      const key = arpRequestKey(req);
      if (key === undefined) throw new Error('a plain request was not recognised');
      if (key.target !== ipv4Number(codec.ipv4ToBytes(targetIp))) throw new Error('wrong target');
      if (key.sender !== ipv4Number(codec.ipv4ToBytes(senderIp))) throw new Error('wrong sender');
      const fast = arpReplyTo(req, codec.macToBytes(ours));
      const slow = codec.arpReply({ request: codec.parseArp(req.subarray(14)), mac: ours });
      if (!fast.equals(slow)) throw new Error(`${fast.toString('hex')} != ${slow.toString('hex')}`);
      if (!fromMac(req, codec.macToBytes(ethSrc))) throw new Error('fromMac');
    }),
  );
  t.pass();
});

test('anything but a plain request is left to the general path', (t) => {
  const m = '02:00:00:00:00:01';
  t.is(arpRequestKey(codec.gratuitousArpRequest(m, '198.51.100.1')), undefined, 'gratuitous');
  t.is(arpRequestKey(codec.gratuitousArpReply(m, '198.51.100.1')), undefined, 'reply');
  t.not(arpRequestKey(codec.arpProbe(m, '198.51.100.1')), undefined, 'a probe is a plain request');
  t.is(arpRequestKey(codec.unsolicitedNeighborAdvertisement({ mac: m, ip: 'fd00::1' })), undefined, 'IPv6');
  t.is(arpRequestKey(Uint8Array.of(1, 2, 3)), undefined, 'short');
  // Any bytes: never throws; whatever it accepts parses as an ARP request.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      if (arpRequestKey(b) === undefined) return;
      const arp = codec.parseArpFrame(b).arp;
      if (arp.op !== 'request') throw new Error('accepted a non-request');
    }),
  );
});

const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => codec.ipv6ToString(b));

test('the fast NA is byte for byte the codec NA, for any valid solicitation', (t) => {
  fc.assert(
    fc.property(mac, ip6, ip6, mac, fc.boolean(), (sender, src, target, ours, withOption) => {
      fc.pre(src !== '::' && !target.startsWith('ff'));
      const group = codec.solicitedNodeAddress(target);
      const ns = codec.buildNdpFrame(
        { kind: 'ns', target, sourceLinkLayer: withOption ? sender : undefined },
        { srcMac: sender, dstMac: codec.ipv6MulticastMac(group), srcIp: src, dstIp: group },
      );
      const key = nsKey(ns);
      if (key === undefined) throw new Error('a valid solicitation was not recognised');
      const fast = naReplyTo(ns, key, codec.macToBytes(ours));
      const parsed = codec.parseNdpFrame(ns);
      if (parsed.kind !== 'ns') throw new Error('not an NS');
      const slow = codec.neighborAdvertisementReply({ request: parsed, mac: ours });
      if (!fast.equals(slow)) throw new Error(`${fast.toString('hex')} != ${slow.toString('hex')}`);
    }),
  );
  t.pass();
});

test('solicitations the fast path must not answer are left to the general path', (t) => {
  const m = '02:00:00:00:00:01';
  const valid = codec.neighborSolicitation({ srcMac: m, srcIp: 'fd00::2', target: 'fd00::1' });
  t.not(nsKey(valid), undefined);
  t.is(nsKey(codec.dadSolicitation(m, 'fd00::1')), undefined, 'DAD');
  const hop64 = Buffer.from(valid);
  hop64[21] = 64;
  t.is(nsKey(hop64), undefined, 'hop limit 64');
  const corrupt = Buffer.from(valid);
  corrupt[70] = (corrupt[70] ?? 0) ^ 1;
  t.is(nsKey(corrupt), undefined, 'bad checksum');
  // Any bytes: never throws; whatever it accepts is a valid NS the general path would answer the same way.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      if (nsKey(b) === undefined) return;
      const f = codec.parseNdpFrame(b);
      if (f.kind !== 'ns' || f.dad || codec.ndpViolation(f) !== undefined)
        throw new Error('accepted a bad NS');
    }),
  );
});
