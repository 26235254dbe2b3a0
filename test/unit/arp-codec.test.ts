import test from 'ava';
import fc from 'fast-check';
import {
  arpProbe,
  arpReply,
  buildArpFrame,
  buildNdpFrame,
  dadSolicitation,
  ETHERNET_MIN_FRAME_BYTES,
  FrameParseError,
  gratuitousArpReply,
  gratuitousArpRequest,
  icmpv6Checksum,
  isArpAnnouncement,
  isArpProbe,
  isIPv6Multicast,
  ndpViolation,
  neighborAdvertisement,
  neighborAdvertisementReply,
  neighborSolicitation,
  parseArp,
  parseArpFrame,
  parseEthernet,
  parseFrame,
  parseIPv6,
  parseNdpFrame,
  parseNdpMessage,
  unsolicitedNeighborAdvertisement,
  type FrameParseErrorCode,
  type NeighborSolicitationFrame,
} from '../../src/arp/codec/index.ts';
import {
  arpPacketArb,
  captured,
  hex,
  shapedArp,
  shapedNdp,
  ipv6Arb,
  MAC_A,
  MAC_B,
  macArb,
  naMessageArb,
  ndpAddressingArb,
  ndpMessageArb,
} from './arp-fixtures.ts';

/** The FrameParseError code `parse` throws, undefined if it parses; anything else thrown is a failure. */
function codeOf(parse: (b: Uint8Array) => unknown, bytes: Uint8Array): FrameParseErrorCode | undefined {
  try {
    parse(bytes);
    return undefined;
  } catch (err) {
    if (err instanceof FrameParseError) return err.code;
    throw new Error(`not a FrameParseError: ${String(err)}`, { cause: err });
  }
}

const padded = (b: Buffer): Buffer =>
  Buffer.concat([b, Buffer.alloc(Math.max(0, ETHERNET_MIN_FRAME_BYTES - b.length))]);

function ns(bytes: Uint8Array): NeighborSolicitationFrame {
  const f = parseNdpFrame(bytes);
  if (f.kind !== 'ns') throw new Error('not an NS');
  return f;
}

// ---------------------------------------------------------------- known answers

test('captured ARP request and reply parse; arpReply rebuilds the kernel reply byte for byte', (t) => {
  const req = parseArpFrame(captured.arpRequest);
  t.deepEqual(req, {
    kind: 'arp',
    ethernet: { dst: 'ff:ff:ff:ff:ff:ff', src: MAC_A, ethertype: 0x0806 },
    arp: {
      op: 'request',
      senderMac: MAC_A,
      senderIp: '192.0.2.1',
      targetMac: 'ff:ff:ff:ff:ff:ff',
      targetIp: '192.0.2.2',
    },
  });
  t.deepEqual(parseArpFrame(captured.arpReply).arp, {
    op: 'reply',
    senderMac: MAC_B,
    senderIp: '192.0.2.2',
    targetMac: MAC_A,
    targetIp: '192.0.2.1',
  });
  const reply = arpReply({ request: req.arp, mac: MAC_B });
  t.is(reply.length, 60);
  t.is(reply.toString('hex'), padded(captured.arpReply).toString('hex'));
  t.false(isArpProbe(req.arp));
  t.false(isArpAnnouncement(req.arp));
});

test('gratuitous ARP, announcement and probe forms (RFC 5227)', (t) => {
  // arping -A sends exactly what gratuitousArpReply builds (tha = sha: Linux's garp test).
  t.is(gratuitousArpReply(MAC_A, '192.0.2.1').toString('hex'), padded(captured.garpReply).toString('hex'));
  t.true(isArpAnnouncement(parseArpFrame(captured.garpRequest).arp));
  t.true(isArpAnnouncement(parseArpFrame(captured.garpReply).arp));
  const probe = parseArpFrame(captured.arpProbe).arp;
  t.true(isArpProbe(probe));
  t.false(isArpAnnouncement(probe));

  const ours = parseArpFrame(gratuitousArpRequest(MAC_A, '192.0.2.1'));
  t.deepEqual(ours.ethernet, { dst: 'ff:ff:ff:ff:ff:ff', src: MAC_A, ethertype: 0x0806 });
  t.deepEqual(ours.arp, {
    op: 'request',
    senderMac: MAC_A,
    senderIp: '192.0.2.1',
    targetMac: '00:00:00:00:00:00',
    targetIp: '192.0.2.1',
  });
  t.true(isArpAnnouncement(ours.arp));
  const p = parseArpFrame(arpProbe(MAC_A, '192.0.2.9'));
  t.deepEqual(p.arp, {
    op: 'request',
    senderMac: MAC_A,
    senderIp: '0.0.0.0',
    targetMac: '00:00:00:00:00:00',
    targetIp: '192.0.2.9',
  });
  t.is(p.ethernet.dst, 'ff:ff:ff:ff:ff:ff');
  t.true(isArpProbe(p.arp));
  // Defending against a probe: the reply goes to the prober's MAC with target IP 0.0.0.0, as Linux does.
  t.deepEqual(parseArpFrame(arpReply({ request: probe, mac: MAC_B })).arp, {
    op: 'reply',
    senderMac: MAC_B,
    senderIp: '192.0.2.9',
    targetMac: MAC_A,
    targetIp: '0.0.0.0',
  });
});

test('captured NS and NA parse; the NS checksum is the one on the wire', (t) => {
  const req = ns(captured.ns);
  t.deepEqual(req.ethernet, { dst: '33:33:ff:00:00:02', src: MAC_A, ethertype: 0x86dd });
  t.deepEqual(req.ipv6, {
    trafficClass: 0,
    flowLabel: 0x8d9b1,
    payloadLength: 32,
    nextHeader: 58,
    hopLimit: 255,
    src: 'fe80::ff:fe00:a',
    dst: 'ff02::1:ff00:2',
  });
  t.is(req.target, '2001:db8::2');
  t.is(req.sourceLinkLayer, MAC_A);
  t.false(req.dad);
  t.is(ndpViolation(req), undefined);
  const ip = captured.ns.subarray(14);
  t.is(icmpv6Checksum(ip.subarray(8, 24), ip.subarray(24, 40), ip.subarray(40)), 0x4c4d);

  const na = parseNdpFrame(captured.na);
  t.like(na, {
    kind: 'na',
    router: false,
    solicited: true,
    override: true,
    target: '2001:db8::2',
    targetLinkLayer: MAC_B,
    ipv6: { hopLimit: 255, src: '2001:db8::2', dst: 'fe80::ff:fe00:a' },
  });
  t.is(ndpViolation(na), undefined);
  const nud = parseNdpFrame(captured.nudNa);
  t.like(nud, {
    kind: 'na',
    solicited: true,
    override: false,
    targetLinkLayer: undefined,
    target: 'fe80::ff:fe00:a',
  });
});

test('neighborAdvertisementReply rebuilds the kernel NA byte for byte; neighborSolicitation the kernel NS', (t) => {
  const reply = neighborAdvertisementReply({ request: ns(captured.ns), mac: MAC_B });
  t.is(reply.toString('hex'), captured.na.toString('hex'));
  const explicit = neighborAdvertisement({
    srcMac: MAC_B,
    dstMac: MAC_A,
    srcIp: '2001:db8::2',
    dstIp: 'fe80::ff:fe00:a',
    target: '2001:db8::2',
    solicited: true,
    override: true,
  });
  t.is(explicit.toString('hex'), captured.na.toString('hex'));
  const nudNs = neighborSolicitation({
    srcMac: MAC_B,
    srcIp: 'fe80::ff:fe00:b',
    target: 'fe80::ff:fe00:a',
    to: { ip: 'fe80::ff:fe00:a', mac: MAC_A },
  });
  t.is(nudNs.toString('hex'), captured.nudNs.toString('hex'));
});

test('DAD: the kernel probe parses as dad, the answer goes to all-nodes with solicited = false', (t) => {
  const dad = ns(captured.dadNs);
  t.true(dad.dad);
  t.is(dad.sourceLinkLayer, undefined); // the nonce option (type 14) is skipped
  t.is(dad.target, '2001:db8::77');
  t.is(ndpViolation(dad), undefined);
  const answer = parseNdpFrame(neighborAdvertisementReply({ request: dad, mac: MAC_B }));
  t.like(answer, {
    kind: 'na',
    solicited: false,
    override: true,
    router: false,
    target: '2001:db8::77',
    targetLinkLayer: MAC_B,
    ethernet: { dst: '33:33:00:00:00:01', src: MAC_B },
    ipv6: { src: '2001:db8::77', dst: 'ff02::1', hopLimit: 255 },
  });
  t.is(ndpViolation(answer), undefined);
  // Our own DAD probe: the kernel's minus the nonce.
  const ours = ns(dadSolicitation(MAC_A, '2001:db8::77'));
  t.like(ours, {
    dad: true,
    sourceLinkLayer: undefined,
    target: '2001:db8::77',
    ethernet: { dst: '33:33:ff:00:00:77', src: MAC_A },
    ipv6: { src: '::', dst: 'ff02::1:ff00:77', hopLimit: 255 },
  });
  t.is(ndpViolation(ours), undefined);
  // And the unsolicited NA sent on takeover is the same message as the DAD answer.
  t.is(
    unsolicitedNeighborAdvertisement({ mac: MAC_B, ip: '2001:db8::77' }).toString('hex'),
    neighborAdvertisementReply({ request: dad, mac: MAC_B }).toString('hex'),
  );
});

test('a solicitation without a source link-layer option is answered at its Ethernet source', (t) => {
  const bare = buildNdpFrame(
    { kind: 'ns', target: '2001:db8::5', sourceLinkLayer: undefined },
    { srcMac: MAC_A, dstMac: '33:33:ff:00:00:05', srcIp: '2001:db8::1', dstIp: 'ff02::1:ff00:5' },
  );
  const answer = parseNdpFrame(
    neighborAdvertisementReply({ request: ns(bare), mac: MAC_B, override: false }),
  );
  t.like(answer, {
    ethernet: { dst: MAC_A },
    ipv6: { dst: '2001:db8::1' },
    solicited: true,
    override: false,
  });
});

test('RFC 4861 §7.1 checks the parser leaves to the caller', (t) => {
  const to = { srcMac: MAC_A, dstMac: '33:33:ff:00:00:05', srcIp: '2001:db8::1', dstIp: 'ff02::1:ff00:5' };
  const nsMsg = { kind: 'ns' as const, target: '2001:db8::5', sourceLinkLayer: MAC_A };
  const violation = (frame: Buffer): string | undefined => ndpViolation(parseNdpFrame(frame));
  t.is(violation(buildNdpFrame(nsMsg, to)), undefined);
  t.is(violation(buildNdpFrame(nsMsg, { ...to, hopLimit: 64 })), 'hop-limit');
  t.is(violation(buildNdpFrame({ ...nsMsg, target: 'ff02::1' }, to)), 'multicast-target');
  t.is(violation(buildNdpFrame(nsMsg, { ...to, srcIp: '::' })), 'dad-with-source-link-layer');
  t.is(
    violation(
      buildNdpFrame({ ...nsMsg, sourceLinkLayer: undefined }, { ...to, srcIp: '::', dstIp: '2001:db8::5' }),
    ),
    'dad-not-to-solicited-node',
  );
  const naMsg = {
    kind: 'na' as const,
    router: false,
    solicited: true,
    override: true,
    target: '2001:db8::5',
  };
  t.is(
    violation(buildNdpFrame({ ...naMsg, targetLinkLayer: MAC_A }, { ...to, dstIp: 'ff02::1' })),
    'solicited-to-multicast',
  );
  t.is(
    violation(buildNdpFrame({ ...naMsg, targetLinkLayer: MAC_A }, { ...to, dstIp: '2001:db8::1' })),
    undefined,
  );
});

test('named errors for each kind of bad frame', (t) => {
  const arp = (b: Uint8Array): unknown => parseArpFrame(b);
  const ndp = (b: Uint8Array): unknown => parseNdpFrame(b);
  const patch = (b: Buffer, at: number, ...bytes: number[]): Buffer => {
    const c = Buffer.from(b);
    c.set(bytes, at);
    return c;
  };
  t.is(codeOf(arp, captured.arpRequest.subarray(0, 13)), 'truncated');
  t.is(codeOf(arp, captured.arpRequest.subarray(0, 41)), 'truncated');
  t.is(codeOf(arp, captured.na), 'bad-ethertype');
  t.is(codeOf(arp, patch(captured.arpRequest, 12, 0x81, 0x00)), 'vlan-tagged');
  t.is(codeOf(arp, patch(captured.arpRequest, 12, 0x88, 0xa8)), 'vlan-tagged');
  t.is(codeOf(arp, patch(captured.arpRequest, 14, 0x00, 0x06)), 'bad-hardware'); // IEEE 802 htype
  t.is(codeOf(arp, patch(captured.arpRequest, 18, 0x08)), 'bad-hardware'); // hlen 8
  t.is(codeOf(arp, patch(captured.arpRequest, 16, 0x86, 0xdd)), 'bad-protocol');
  t.is(codeOf(arp, patch(captured.arpRequest, 19, 16)), 'bad-protocol');
  t.is(codeOf(arp, patch(captured.arpRequest, 20, 0, 3)), 'bad-opcode'); // RARP request
  t.is(codeOf(arp, Buffer.concat([captured.arpRequest, Buffer.alloc(18)])), undefined); // padding

  t.is(codeOf(ndp, captured.arpRequest), 'bad-ethertype');
  t.is(codeOf(ndp, captured.ns.subarray(0, 53)), 'truncated');
  t.is(codeOf(ndp, captured.ns.subarray(0, captured.ns.length - 1)), 'truncated');
  t.is(codeOf(ndp, patch(captured.ns, 14, 0x40)), 'bad-version');
  t.is(codeOf(ndp, captured.mld), 'unsupported'); // hop-by-hop header first
  t.is(codeOf(ndp, captured.rs), 'unsupported'); // ICMPv6 type 133
  t.is(codeOf(ndp, patch(captured.ns, 55, 1)), 'bad-checksum');
  t.is(codeOf(ndp, patch(captured.ns, 54 + 2, 0x4c, 0x4e)), 'bad-checksum');
  t.is(codeOf(ndp, patch(captured.ns, 18, 0, 3)), 'bad-length'); // a 3-byte ICMPv6 message
  t.is(codeOf(ndp, Buffer.concat([captured.ns, Buffer.alloc(6)])), undefined); // padding after the payload

  // Fields behind the checksum: rebuild the checksum after patching.
  const fixed = (at: number, ...bytes: number[]): Buffer => {
    const b = patch(captured.ns, at, ...bytes);
    const ip = b.subarray(14);
    b.writeUInt16BE(
      icmpv6Checksum(ip.subarray(8, 24), ip.subarray(24, 40), ip.subarray(40, 40 + ip.readUInt16BE(4))),
      56,
    );
    return b;
  };
  t.is(codeOf(ndp, fixed(55, 1)), 'bad-code');
  t.is(codeOf(ndp, fixed(54 + 25, 0)), 'bad-option'); // option length 0
  t.is(codeOf(ndp, fixed(54 + 25, 2)), 'bad-option'); // option runs past the message
  t.is(codeOf(ndp, fixed(18, 0, 20)), 'bad-length'); // NS shorter than 24 bytes
  t.is(codeOf(ndp, fixed(18, 0, 30)), 'bad-option'); // 6 stray bytes: 2 past the payload length
  t.is(codeOf(ndp, fixed(18, 0, 24)), undefined); // options cut off by the length: no SLLAO
  t.is(ns(fixed(18, 0, 24)).sourceLinkLayer, undefined);
  t.is(codeOf(ndp, fixed(54, 136)), undefined); // now an NA (without TLLAO: the option is an SLLAO)
  t.is(codeOf(ndp, fixed(54, 128)), 'unsupported'); // echo request

  const e = t.throws(() => parseFrame(captured.mld), { instanceOf: FrameParseError });
  t.is(e.name, 'FrameParseError');
  t.regex(e.message, /^unsupported: IPv6 next header 0/);
});

// ---------------------------------------------------------------- properties

const parsers: [string, (b: Uint8Array) => unknown][] = [
  ['parseFrame', parseFrame],
  ['parseArpFrame', parseArpFrame],
  ['parseNdpFrame', parseNdpFrame],
  ['parseEthernet', parseEthernet],
  ['parseArp', parseArp],
  ['parseIPv6', parseIPv6],
  ['parseNdpMessage', (b) => parseNdpMessage(b, b.subarray(0, 16), b.subarray(16, 32))],
];

test('arbitrary bytes: every parser returns or throws FrameParseError, nothing else', (t) => {
  const shaped = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.concat([hex('ffffffffffff02000000000a0806'), b])),
    shapedArp,
    fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.concat([hex('33330000000102000000000a86dd60'), b])),
    shapedNdp,
  );
  const outcomes = new Map<string, number>();
  for (const [name, parse] of parsers)
    fc.assert(
      fc.property(shaped, (bytes) => {
        // codeOf throws (failing the property) for anything but a FrameParseError.
        const key = `${name} ${codeOf(parse, bytes) ?? 'ok'}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }),
      { numRuns: 4_000 },
    );
  t.log([...outcomes].map(([k, n]) => `${k}: ${n}`).join(', '));
  // The shaped inputs reach deep: NS / NA parse, and options are judged.
  t.true((outcomes.get('parseNdpFrame ok') ?? 0) > 100);
  t.true((outcomes.get('parseNdpFrame bad-option') ?? 0) > 100);
  t.true((outcomes.get('parseArpFrame ok') ?? 0) > 10);
});

test('every truncation of a valid frame throws truncated or parses', (t) => {
  const frames = fc.oneof(
    fc.tuple(arpPacketArb, macArb, macArb).map(([arp, dst, src]) => buildArpFrame(arp, { dst, src })),
    fc.tuple(ndpMessageArb, ndpAddressingArb).map(([m, a]) => buildNdpFrame(m, a)),
    fc.constantFrom(...Object.values(captured)),
  );
  fc.assert(
    fc.property(frames, (frame) => {
      const ok = codeOf(parseFrame, frame) === undefined;
      for (let cut = 0; cut < frame.length; cut++) {
        const code = codeOf(parseFrame, frame.subarray(0, cut));
        // ARP frames carry padding: cutting it still parses. NDP frames end at their payload.
        if (code !== 'truncated' && !(ok && code === undefined && frame[13] === 0x06 && cut >= 42))
          return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('round trip: ARP packets build and parse back', (t) => {
  fc.assert(
    fc.property(arpPacketArb, macArb, macArb, (arp, dst, src) => {
      const frame = buildArpFrame(arp, { dst, src });
      t.deepEqual(parseFrame(frame), { kind: 'arp', ethernet: { dst, src, ethertype: 0x0806 }, arp });
      return frame.length === 60;
    }),
    { numRuns: 2_000 },
  );
});

test('round trip: NS / NA messages build and parse back, with a valid checksum', (t) => {
  fc.assert(
    fc.property(ndpMessageArb, ndpAddressingArb, (message, to) => {
      const frame = parseNdpFrame(buildNdpFrame(message, to));
      t.like(frame, {
        ...message,
        ethernet: { dst: to.dstMac, src: to.srcMac, ethertype: 0x86dd },
        ipv6: {
          src: to.srcIp,
          dst: to.dstIp,
          hopLimit: to.hopLimit,
          nextHeader: 58,
          flowLabel: 0,
          trafficClass: 0,
        },
      });
      return frame.kind === 'na' || frame.dad === (to.srcIp === '::');
    }),
    { numRuns: 2_000 },
  );
});

test('round trip: neighborAdvertisement carries the init, hop limit 255 and srcMac as target link-layer', (t) => {
  const init = fc.record(
    {
      srcMac: macArb,
      dstMac: macArb,
      srcIp: ipv6Arb,
      dstIp: ipv6Arb,
      target: ipv6Arb,
      solicited: fc.boolean(),
      override: fc.boolean(),
      router: fc.boolean(),
    },
    { requiredKeys: ['srcMac', 'dstMac', 'srcIp', 'dstIp', 'target', 'solicited', 'override'] },
  );
  fc.assert(
    fc.property(init, (i) => {
      const f = parseNdpFrame(neighborAdvertisement(i));
      t.like(f, {
        kind: 'na',
        target: i.target,
        solicited: i.solicited,
        override: i.override,
        router: i.router ?? false,
        targetLinkLayer: i.srcMac,
        ethernet: { src: i.srcMac, dst: i.dstMac },
        ipv6: { src: i.srcIp, dst: i.dstIp, hopLimit: 255 },
      });
    }),
    { numRuns: 1_000 },
  );
  t.pass();
});

test('round trip: replies answer the request they are built from', (t) => {
  const unicastArb = ipv6Arb.filter((ip) => !isIPv6Multicast(ip));
  fc.assert(
    fc.property(arpPacketArb, macArb, (request, mac) => {
      const r = parseArpFrame(arpReply({ request, mac }));
      t.deepEqual(r.arp, {
        op: 'reply',
        senderMac: mac,
        senderIp: request.targetIp,
        targetMac: request.senderMac,
        targetIp: request.senderIp,
      });
      t.deepEqual(r.ethernet, { dst: request.senderMac, src: mac, ethertype: 0x0806 });
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(
      macArb,
      fc.oneof(fc.constant('::'), ipv6Arb),
      unicastArb,
      macArb,
      (srcMac, srcIp, target, mac) => {
        const request = ns(neighborSolicitation({ srcMac, srcIp, target }));
        t.is(ndpViolation(request), undefined);
        const answer = parseNdpFrame(neighborAdvertisementReply({ request, mac }));
        t.like(answer, {
          kind: 'na',
          target,
          solicited: !request.dad,
          override: true,
          targetLinkLayer: mac,
          ipv6: { src: target, dst: request.dad ? 'ff02::1' : srcIp, hopLimit: 255 },
          ethernet: { src: mac, dst: request.dad ? '33:33:00:00:00:01' : srcMac },
        });
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('a single flipped bit in an NA (ICMPv6 bytes or pseudo-header addresses) fails the checksum', (t) => {
  const na = fc.tuple(naMessageArb, ndpAddressingArb).map(([m, a]) => buildNdpFrame(m, a));
  fc.assert(
    fc.property(na, fc.nat(), fc.integer({ min: 0, max: 7 }), (frame, at, bit) => {
      // ICMPv6 starts at 54; source and destination addresses are 22…53 (in the pseudo-header).
      const icmpBytes = frame.length - 54;
      const i = at % (icmpBytes + 32);
      const index = i < icmpBytes ? 54 + i : 22 + (i - icmpBytes);
      const flipped = Buffer.from(frame);
      flipped[index] = (flipped[index] ?? 0) ^ (1 << bit);
      return codeOf(parseNdpFrame, flipped) === 'bad-checksum';
    }),
    { numRuns: 5_000 },
  );
  t.pass();
});
