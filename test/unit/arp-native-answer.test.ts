// The addon's answers (native/answer.c, sent by the packet sockets' threads)
// against the TypeScript fast paths they mirror: on any frame, the same
// decision and the same bytes. The reference below is Answerer's fast path
// with the table's two sets in place of the responder's state.
import test from 'ava';
import fc from 'fast-check';
import * as codec from '../../src/arp/codec/index.ts';
import { arpReplyTo, arpRequestKey, fromMac } from '../../src/arp/fast-arp.ts';
import { naReplyTo, NS_SOURCE, NS_TARGET, nsKey, sameIpv6 } from '../../src/arp/fast-ndp.ts';
import { loadAddon } from '../../src/arp/native.ts';

const addon = loadAddon();
const PACKET_OTHERHOST = 3;

const has = (set: readonly Uint8Array[], f: Uint8Array, off: number, width: number): boolean =>
  set.some((ip) => ip.every((b, i) => f[off + i] === b) && ip.length === width);

/** What Answerer's fast path sends for `f` when `answer` is answered on the link and `known` is announced. */
function reference(
  f: Uint8Array,
  pktType: number,
  mac: Uint8Array,
  width: 4 | 16,
  answer: readonly Uint8Array[],
  known: readonly Uint8Array[],
): Buffer | null {
  if (pktType > 2 || answer.length === 0) return null;
  if (width === 4) {
    const k = arpRequestKey(f);
    if (k === undefined || has(known, f, 28, 4) || fromMac(f, mac) || !has(answer, f, 38, 4)) return null;
    return arpReplyTo(f, mac);
  }
  const k = nsKey(f);
  if (k === undefined || known.some((ip) => sameIpv6(f, NS_SOURCE, ip)) || fromMac(f, mac)) return null;
  if (!answer.some((ip) => sameIpv6(f, NS_TARGET, ip))) return null;
  return naReplyTo(f, k, mac);
}

const native = (
  f: Uint8Array,
  pktType: number,
  mac: Uint8Array,
  width: 4 | 16,
  answer: readonly Uint8Array[],
  known: readonly Uint8Array[],
): Buffer | null => addon.answerFrame(f, pktType, mac, width, Buffer.concat(answer), Buffer.concat(known));

// Small pools, so that frames hit the tables often.
const MACS = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];
const V4 = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '0.0.0.0'];
const V6 = ['fd00::1', 'fd00::2', 'fd00::1:1', 'fe80::3'];
const mac = fc.constantFrom(...MACS);
const subset = (pool: readonly string[], toBytes: (ip: string) => Uint8Array) =>
  fc.subarray([...pool]).map((ips) => ips.map(toBytes));

/** Mostly null; `arb` one time in four. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: arb, weight: 1 });

/** A frame as received: valid, then maybe one byte changed, maybe cut short. */
const received = (valid: fc.Arbitrary<Buffer>) =>
  fc
    .tuple(valid, sometimes(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))), sometimes(fc.nat()))
    .map(([frame, flip, cut]) => {
      const f = Buffer.from(frame);
      if (flip !== null) f[flip[0] % f.length] = ((f[flip[0] % f.length] ?? 0) ^ flip[1]) & 0xff;
      return cut === null ? f : f.subarray(0, cut % (f.length + 1));
    });

const arpFrames = received(
  fc
    .tuple(mac, mac, fc.constantFrom(...V4), fc.constantFrom(...V4), sometimes(fc.constant(true)))
    .map(([sender, ethSrc, senderIp, targetIp, reply]) =>
      codec.buildArpFrame(
        {
          op: reply === true ? 'reply' : 'request',
          senderMac: sender,
          senderIp,
          targetMac: codec.ZERO_MAC,
          targetIp,
        },
        { dst: codec.BROADCAST_MAC, src: ethSrc },
      ),
    ),
);

const nsFrames = received(
  fc
    .tuple(mac, mac, fc.constantFrom(...V6, '::'), fc.constantFrom(...V6), fc.boolean())
    .map(([sender, ethSrc, src, target, withOption]) => {
      const group = codec.solicitedNodeAddress(target);
      return codec.buildNdpFrame(
        { kind: 'ns', target, sourceLinkLayer: withOption ? sender : undefined },
        { srcMac: ethSrc, dstMac: codec.ipv6MulticastMac(group), srcIp: src, dstIp: group },
      );
    }),
);

/** Mostly the kinds that may be answered (host, broadcast, multicast), sometimes the others. */
const pktType = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 2 }), weight: 3 },
  { arbitrary: fc.integer({ min: 3, max: 7 }), weight: 1 },
);

/** Checks 5,000 frames; returns how many were answered. */
function agree(width: 4 | 16, frames: fc.Arbitrary<Buffer>, pool: readonly string[]): number {
  let answered = 0;
  const toBytes = width === 4 ? codec.ipv4ToBytes : codec.ipv6ToBytes;
  fc.assert(
    fc.property(
      frames,
      pktType,
      mac,
      subset(pool, toBytes),
      subset(pool, toBytes),
      (f, pkt, ours, answer, known) => {
        const m = codec.macToBytes(ours);
        const want = reference(f, pkt, m, width, answer, known);
        const got = native(f, pkt, m, width, answer, known);
        if (got !== null) answered++;
        if (want === null ? got !== null : got === null || !got.equals(want))
          throw new Error(
            `${f.toString('hex')}: native ${got?.toString('hex')}, TypeScript ${want?.toString('hex')}`,
          );
      },
    ),
    { numRuns: 5000 },
  );
  return answered;
}

test('ARP: the addon answers exactly what the TypeScript fast path answers, byte for byte', (t) => {
  t.true(agree(4, arpFrames, V4) > 100, 'enough frames were answered for the comparison to mean something');
});

test('NDP: the addon answers exactly what the TypeScript fast path answers, byte for byte', (t) => {
  t.true(agree(16, nsFrames, V6) > 100, 'enough frames were answered for the comparison to mean something');
});

test('any bytes: the addon never answers what the fast path would not (and never crashes)', (t) => {
  const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));
  t.is(agree(4, bytes, V4) + agree(16, bytes, V6), 0);
});

test('a plain request is answered only for the answer set, and never from a known sender or our own MAC', (t) => {
  const m = codec.macToBytes('02:00:00:00:00:09');
  const ip = codec.ipv4ToBytes('198.51.100.7');
  const req = (sender: string, ethSrc = '02:00:00:00:00:01'): Buffer =>
    codec.buildArpFrame(
      {
        op: 'request',
        senderMac: ethSrc,
        senderIp: sender,
        targetMac: codec.ZERO_MAC,
        targetIp: '198.51.100.7',
      },
      { dst: codec.BROADCAST_MAC, src: ethSrc },
    );
  const ok = native(req('198.51.100.1'), 1, m, 4, [ip], [ip]);
  t.truthy(ok);
  t.is(codec.parseArpFrame(ok ?? Buffer.alloc(0)).arp.senderMac, '02:00:00:00:00:09');
  t.is(native(req('198.51.100.1'), 1, m, 4, [], [ip]), null, 'not in the answer set');
  t.is(native(req('198.51.100.1'), PACKET_OTHERHOST, m, 4, [ip], [ip]), null, 'to another host');
  const sender = codec.ipv4ToBytes('198.51.100.1');
  t.is(native(req('198.51.100.1'), 1, m, 4, [ip], [ip, sender]), null, 'from an announced IP');
  t.is(native(req('198.51.100.1', '02:00:00:00:00:09'), 1, m, 4, [ip], [ip]), null, 'from our MAC');
  t.throws(() => addon.answerFrame(req('198.51.100.1'), 1, m, 4, Buffer.alloc(3), Buffer.alloc(0)), {
    message: /answer must hold at most 65536 addresses of 4 bytes/,
  });
});
