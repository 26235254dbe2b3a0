/**
 * Frames captured with tcpdump -xx between two network namespaces joined by a
 * veth pair (host a = 02:00:00:00:00:0a, 192.0.2.1, 2001:db8::1, fe80::ff:fe00:a;
 * host b = 02:00:00:00:00:0b, 192.0.2.2, 2001:db8::2, fe80::ff:fe00:b;
 * Linux 6.18, iputils arping, ndisc6), and fast-check generators shared by the
 * arp-codec tests. veth does not pad, so the ARP frames are 42 bytes.
 */
import fc from 'fast-check';
import type {
  ArpPacket,
  NdpAddressing,
  NdpMessage,
  NeighborAdvertisement,
  NeighborSolicitation,
} from '../../src/arp/codec/index.ts';
import { icmpv6Checksum, ipv4ToString, ipv6ToString, macToString } from '../../src/arp/codec/index.ts';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

export const captured = {
  /** `arping -I va 192.0.2.2` on a: who-has 192.0.2.2 tell 192.0.2.1 (arping puts ff:ff:.. in tha). */
  arpRequest: hex(`ffffffffffff 02000000000a 0806 0001 0800 06 04 0001
    02000000000a c0000201 ffffffffffff c0000202`),
  /** b's kernel answer: 192.0.2.2 is-at 02:00:00:00:00:0b, unicast to a. */
  arpReply: hex(`02000000000a 02000000000b 0806 0001 0800 06 04 0002
    02000000000b c0000202 02000000000a c0000201`),
  /** `arping -U`: gratuitous request, sender IP = target IP, tha broadcast. */
  garpRequest: hex(`ffffffffffff 02000000000a 0806 0001 0800 06 04 0001
    02000000000a c0000201 ffffffffffff c0000201`),
  /** `arping -A`: gratuitous reply, tha = sha. */
  garpReply: hex(`ffffffffffff 02000000000a 0806 0001 0800 06 04 0002
    02000000000a c0000201 02000000000a c0000201`),
  /** `arping -D 192.0.2.9`: RFC 5227 probe, sender IP 0.0.0.0. */
  arpProbe: hex(`ffffffffffff 02000000000a 0806 0001 0800 06 04 0001
    02000000000a 00000000 ffffffffffff c0000209`),
  /** `ndisc6 2001:db8::2 va`: multicast NS from fe80::ff:fe00:a, flow label 0x8d9b1, SLLAO. */
  ns: hex(`3333ff000002 02000000000a 86dd
    6008d9b1 0020 3a ff fe80000000000000 000000fffe00000a ff020000000000000000 0001ff000002
    87 00 4c4d 00000000 20010db8000000000000000000000002 01 01 02000000000a`),
  /** b's kernel answer: solicited + override, TLLAO, from 2001:db8::2. */
  na: hex(`02000000000a 02000000000b 86dd
    60000000 0020 3a ff 20010db8000000000000000000000002 fe80000000000000 000000fffe00000a
    88 00 ba97 60000000 20010db8000000000000000000000002 02 01 02000000000b`),
  /** The kernel's DAD for 2001:db8::77: from ::, no SLLAO, a nonce option (type 14, RFC 7527). */
  dadNs: hex(`3333ff000077 02000000000a 86dd
    60000000 0020 3a ff 00000000000000000000000000000000 ff020000000000000000 0001ff000077
    87 00 4aa5 00000000 20010db8000000000000000000000077 0e 01 b064acd2961b`),
  /** Unicast NS (neighbour unreachability detection) from b for a's link-local address. */
  nudNs: hex(`02000000000a 02000000000b 86dd
    60000000 0020 3a ff fe80000000000000 000000fffe00000b fe80000000000000 000000fffe00000a
    87 00 7cf7 00000000 fe80000000000000 000000fffe00000a 01 01 02000000000b`),
  /** a's answer: solicited only (no override), no TLLAO (24-byte message). */
  nudNa: hex(`02000000000b 02000000000a 86dd
    60000000 0018 3a ff fe80000000000000 000000fffe00000a fe80000000000000 000000fffe00000b
    88 00 3f0b 40000000 fe80000000000000 000000fffe00000a`),
  /** Router solicitation (ICMPv6 type 133): well-formed, not NS/NA. */
  rs: hex(`333300000002 02000000000a 86dd
    60000000 0010 3a ff fe80000000000000 000000fffe00000a ff020000000000000000 000000000002
    85 00 7b1a 00000000 01 01 02000000000a`),
  /** MLDv2 report: next header 0 (hop-by-hop options) before ICMPv6. */
  mld: hex(`333300000016 02000000000b 86dd
    60000000 0038 00 01 fe80000000000000 000000fffe00000b ff020000000000000000 000000000016
    3a00 0502 0000 0100 8f00 6fd7 0000 0002 0400 0000 ff02 0000 0000 0000 0000 0001 ff00 0002
    0400 0000 ff02 0000 0000 0000 0000 0001 ff00 000b`),
} as const;

export const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => macToString(b));
export const ipv4Arb = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ipv4ToString(b));
/** IPv6 addresses biased towards zero runs, so "::" placement is exercised. */
export const ipv6Arb = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((words) => ipv6ToString(Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]))));

export const arpPacketArb: fc.Arbitrary<ArpPacket> = fc.record({
  op: fc.constantFrom('request' as const, 'reply' as const),
  senderMac: macArb,
  senderIp: ipv4Arb,
  targetMac: macArb,
  targetIp: ipv4Arb,
});

export const nsMessageArb: fc.Arbitrary<NeighborSolicitation> = fc.record({
  kind: fc.constant('ns' as const),
  target: ipv6Arb,
  sourceLinkLayer: fc.option(macArb, { nil: undefined }),
});
export const naMessageArb: fc.Arbitrary<NeighborAdvertisement> = fc.record({
  kind: fc.constant('na' as const),
  router: fc.boolean(),
  solicited: fc.boolean(),
  override: fc.boolean(),
  target: ipv6Arb,
  targetLinkLayer: fc.option(macArb, { nil: undefined }),
});
export const ndpMessageArb: fc.Arbitrary<NdpMessage> = fc.oneof(nsMessageArb, naMessageArb);

export const ndpAddressingArb: fc.Arbitrary<NdpAddressing> = fc.record({
  srcMac: macArb,
  dstMac: macArb,
  srcIp: ipv6Arb,
  dstIp: ipv6Arb,
  hopLimit: fc.oneof(fc.constant(255), fc.integer({ min: 0, max: 255 })),
});

/** An Ethernet/IPv4 ARP header with a random body, sometimes with one header byte changed. */
export const shapedArp = fc
  .tuple(
    fc.constantFrom(1, 2, 1, 2, 3),
    fc.uint8Array({ minLength: 14, maxLength: 40 }),
    fc.option(fc.tuple(fc.integer({ min: 12, max: 21 }), fc.nat(255)), { freq: 3 }),
  )
  .map(([op, body, tweak]) => {
    const frame = Buffer.concat([
      hex('ffffffffffff02000000000a0806 0001 0800 06 04 00'),
      Uint8Array.of(op),
      body,
    ]);
    if (tweak !== null) frame[tweak[0]] = tweak[1];
    return frame;
  });

/** Frames with a valid Ethernet header, an IPv6 header with next header 58, and an ICMPv6
 * message whose checksum is right, so random types, codes and options reach the parser. */
export const shapedNdp = fc
  .tuple(
    fc.constantFrom(135, 136, 135, 136, 133, 0),
    fc.constantFrom(0, 0, 0, 1),
    fc.uint8Array({ minLength: 20, maxLength: 20 }),
    fc.array(fc.tuple(fc.constantFrom(1, 2, 14, 200), fc.constantFrom(1, 1, 1, 2, 0, 3)), { maxLength: 3 }),
    fc.constantFrom(0, 0, 0, 0, 1, 2, 6),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
  )
  .map(([type, code, body, options, stray, addrs]) => {
    const opts = options.flatMap(([ot, len]) => [
      ot,
      len,
      ...new Array<number>(Math.max(0, len * 8 - 2)).fill(7),
    ]);
    const msg = Uint8Array.from([type, code, 0, 0, ...body, ...opts, ...new Array<number>(stray).fill(1)]);
    const ip = Buffer.alloc(40 + msg.length);
    ip[0] = 0x60;
    ip.writeUInt16BE(msg.length, 4);
    ip[6] = 58;
    ip[7] = 255;
    ip.set(addrs, 8);
    ip.set(msg, 40);
    ip.writeUInt16BE(icmpv6Checksum(ip.subarray(8, 24), ip.subarray(24, 40), ip.subarray(40)), 42);
    return Buffer.concat([hex('33330000000102000000000a86dd'), ip]);
  });
