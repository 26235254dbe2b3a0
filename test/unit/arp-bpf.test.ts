import test from 'ava';
import fc from 'fast-check';
import {
  arpFilter,
  arpFilterProgram,
  BPF_ACCEPT,
  BpfProgramError,
  buildArpFrame,
  buildNdpFrame,
  checkClassicBpf,
  decodeFilter,
  disassemble,
  FrameParseError,
  icmpv6Checksum,
  ndpFilter,
  ndpFilterProgram,
  parseArpFrame,
  parseNdpFrame,
  runClassicBpf,
  type BpfPacketMeta,
  type FrameParseErrorCode,
  type SockFilter,
} from '../../src/arp/codec/index.ts';
import {
  arpPacketArb,
  captured,
  macArb,
  ndpAddressingArb,
  ndpMessageArb,
  shapedArp,
  shapedNdp,
} from './arp-fixtures.ts';

const ARP = arpFilterProgram();
const NDP = ndpFilterProgram();

function codeOf(parse: (b: Uint8Array) => unknown, bytes: Uint8Array): FrameParseErrorCode | 'ok' {
  try {
    parse(bytes);
    return 'ok';
  } catch (err) {
    if (err instanceof FrameParseError) return err.code;
    throw err;
  }
}

const accepts = (program: readonly SockFilter[], frame: Uint8Array, meta?: BpfPacketMeta): boolean => {
  const r = runClassicBpf(program, frame, meta);
  if (r !== 0 && r !== BPF_ACCEPT) throw new Error(`filter returned ${r}`);
  return r === BPF_ACCEPT;
};

/** Metadata that must not change the verdict: for us / broadcast / multicast, untagged or priority-tagged, on ifindex 2. */
const neutralMeta: fc.Arbitrary<BpfPacketMeta> = fc.record(
  {
    pktType: fc.constantFrom(0, 1, 2),
    vlanTci: fc.integer({ min: 0, max: 7 }).map((pcp) => pcp << 13),
    ifindex: fc.constant(2),
  },
  { requiredKeys: ['ifindex'] },
);
/** The programs with and without the ifindex check: both must give the same verdicts on ifindex 2. */
const programs = fc.constantFrom(
  { arp: ARP, ndp: NDP },
  { arp: arpFilterProgram({ ifindex: 2 }), ndp: ndpFilterProgram({ ifindex: 2 }) },
);

/** Frames near the accept boundary: built, captured, shaped, mutated, truncated, random. */
function mutated(frames: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const interesting = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 54, 55];
  return fc
    .tuple(
      frames,
      fc.array(fc.tuple(fc.constantFrom(...interesting), fc.nat(255)), { maxLength: 2 }),
      fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
      fc.boolean(),
    )
    .map(([frame, edits, cut, fixChecksum]) => {
      const b = Buffer.from(frame);
      for (const [at, v] of edits) if (at < b.length) b[at] = v;
      const out = cut === null ? b : b.subarray(0, cut % (b.length + 1));
      if (fixChecksum && out.length >= 58 && out[12] === 0x86 && out[13] === 0xdd) {
        const ip = out.subarray(14);
        const len = Math.min(ip.readUInt16BE(4), ip.length - 40);
        ip.writeUInt16BE(
          icmpv6Checksum(ip.subarray(8, 24), ip.subarray(24, 40), ip.subarray(40, 40 + len)),
          42,
        );
      }
      return out;
    });
}

const anyFrame = mutated(
  fc.oneof(
    fc.tuple(arpPacketArb, macArb, macArb).map(([arp, dst, src]) => buildArpFrame(arp, { dst, src })),
    fc.tuple(ndpMessageArb, ndpAddressingArb).map(([m, a]) => buildNdpFrame(m, a)),
    fc.constantFrom(...Object.values(captured)),
    shapedArp,
    shapedNdp,
    fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
  ),
);

test('both programs pass the kernel checks, and encode as 8-byte host-order sock_filter entries', (t) => {
  checkClassicBpf(ARP);
  checkClassicBpf(NDP);
  for (const [program, bytes] of [
    [ARP, arpFilter()],
    [NDP, ndpFilter()],
  ] as const) {
    t.is(bytes.length, program.length * 8);
    t.deepEqual(decodeFilter(bytes), program);
  }
  // ld #type = BPF_LD|BPF_W|BPF_ABS (0x20), k = SKF_AD_OFF + SKF_AD_PKTTYPE = 0xfffff004, little-endian.
  t.is(arpFilter().subarray(0, 8).toString('hex'), '2000000004f0ffff');
  // ret #0 = BPF_RET|BPF_K (0x06).
  t.is(arpFilter().subarray(-8).toString('hex'), '0600000000000000');
  t.log(`arp filter (${ARP.length} instructions):\n${disassemble(ARP)}`);
  t.log(`ndp filter (${NDP.length} instructions):\n${disassemble(NDP)}`);
  t.regex(disassemble(ARP), /^\(005\) ld #len$/m);
  t.regex(disassemble(NDP), /jgt x jt \d+ jf \d+/);
  t.regex(disassemble(arpFilterProgram({ ifindex: 3 })), /^\(005\) ld #ifidx\n\(006\) jeq #0x3 jt 7 jf 21$/m);
});

test('captured frames: ARP to the ARP filter, NS / NA to the NDP filter, the rest dropped', (t) => {
  for (const name of ['arpRequest', 'arpReply', 'garpRequest', 'garpReply', 'arpProbe'] as const) {
    t.true(accepts(ARP, captured[name]), name);
    t.false(accepts(NDP, captured[name]), name);
  }
  for (const name of ['ns', 'na', 'dadNs', 'nudNs', 'nudNa'] as const) {
    t.true(accepts(NDP, captured[name]), name);
    t.false(accepts(ARP, captured[name]), name);
  }
  for (const name of ['rs', 'mld'] as const) {
    t.false(accepts(NDP, captured[name]), name);
    t.false(accepts(ARP, captured[name]), name);
  }
});

test('metadata: frames not for us, from a VLAN or from another device are dropped; priority tags pass', (t) => {
  const cases: [readonly SockFilter[], Buffer, BpfPacketMeta][] = [
    [ARP, captured.arpRequest, {}],
    [NDP, captured.ns, {}],
    [arpFilterProgram({ ifindex: 7 }), captured.arpRequest, { ifindex: 7 }],
    [ndpFilterProgram({ ifindex: 7 }), captured.ns, { ifindex: 7 }],
  ];
  for (const [program, frame, dev] of cases) {
    t.true(accepts(program, frame, { ...dev }), 'for us');
    t.false(
      accepts(program, frame, { ...dev, pktType: 3 }),
      'PACKET_OTHERHOST (a VLAN tag the kernel cleared)',
    );
    t.false(accepts(program, frame, { ...dev, pktType: 4 }), 'PACKET_OUTGOING');
    t.false(accepts(program, frame, { ...dev, pktType: 5 }), 'PACKET_LOOPBACK');
    t.false(accepts(program, frame, { ...dev, vlanTci: 100 }), 'VLAN 100');
    t.false(accepts(program, frame, { ...dev, vlanTci: 0xe000 | 4094 }), 'VLAN 4094, PCP 7');
    t.true(accepts(program, frame, { ...dev, vlanTci: 0xa000 }), 'priority tag, VLAN 0');
    t.true(accepts(program, frame, { ...dev, pktType: 1 }), 'broadcast');
  }
  // Received by an upper device (eth0.100, a macvlan) of the bound interface.
  t.false(accepts(arpFilterProgram({ ifindex: 7 }), captured.arpRequest, { ifindex: 8 }));
  t.false(accepts(ndpFilterProgram({ ifindex: 7 }), captured.ns, { ifindex: 8 }));
  t.throws(() => arpFilterProgram({ ifindex: 0 }), { instanceOf: RangeError });
  t.throws(() => ndpFilter({ ifindex: 2 ** 31 }), { instanceOf: RangeError });
});

test('the ARP filter accepts exactly the frames parseArpFrame accepts', (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(anyFrame, neutralMeta, programs, (frame, meta, p) => {
      const verdict = accepts(p.arp, frame, meta);
      if (verdict) accepted++;
      return verdict === (codeOf(parseArpFrame, frame) === 'ok');
    }),
    { numRuns: 20_000 },
  );
  t.log(`${accepted} of 20000 accepted`);
  t.true(accepted > 1_000);
});

test('the NDP filter accepts every frame parseNdpFrame accepts, and drops every frame it rejects on structure', (t) => {
  const verdicts = new Map<string, number>();
  fc.assert(
    fc.property(anyFrame, neutralMeta, programs, (frame, meta, p) => {
      const verdict = accepts(p.ndp, frame, meta);
      const code = codeOf(parseNdpFrame, frame);
      const key = `${verdict ? 'accept' : 'drop'} ${code}`;
      verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
      // What the filter cannot check: the checksum and the options.
      return code === 'ok'
        ? verdict
        : verdict === (code === 'bad-checksum' || code === 'bad-option') || !verdict;
    }),
    { numRuns: 20_000 },
  );
  t.log([...verdicts].map(([k, n]) => `${k}: ${n}`).join(', '));
  for (const key of [...verdicts.keys()])
    t.true(key.startsWith('drop') || /^accept (ok|bad-checksum|bad-option)$/.test(key), key);
  t.true((verdicts.get('accept ok') ?? 0) > 1_000);
});

test('with a valid checksum, the NDP filter accepts exactly what parses or fails only on options', (t) => {
  fc.assert(
    fc.property(shapedNdp, neutralMeta, programs, (frame, meta, p) => {
      const code = codeOf(parseNdpFrame, frame);
      return accepts(p.ndp, frame, meta) === (code === 'ok' || code === 'bad-option');
    }),
    { numRuns: 5_000 },
  );
  t.pass();
});

// ---------------------------------------------------------------- the interpreter itself

const ins = (code: number, k = 0, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k });

test('checkClassicBpf refuses what the kernel refuses', (t) => {
  const code = (program: SockFilter[]): string =>
    t.throws(
      () => {
        checkClassicBpf(program);
      },
      { instanceOf: BpfProgramError },
    ).code;
  t.is(code([]), 'length');
  t.is(code(Array.from({ length: 4097 }, () => ins(0x06))), 'length');
  t.is(code([ins(0x28, 12)]), 'no-return');
  t.is(code([ins(0x15, 1, 1, 0), ins(0x06)]), 'bad-jump');
  t.is(code([ins(0x05, 1), ins(0x06)]), 'bad-jump');
  t.is(code([ins(0xff), ins(0x06)]), 'unknown-opcode');
  t.is(code([ins(0x18), ins(0x06)]), 'unknown-opcode'); // ld with size 0x18
  t.is(code([ins(0x34, 0), ins(0x06)]), 'div-by-zero');
  t.is(code([ins(0x02, 16), ins(0x06)]), 'bad-memory');
  t.is(code([ins(0x20, 0xfffff000 + 22), ins(0x06)]), 'bad-ancillary'); // SKF_AD_CPU: not modelled
  t.is(code([ins(0x20, 0xffeffff0), ins(0x06)]), 'bad-ancillary'); // SKF_NET_OFF-relative
  t.notThrows(() => {
    checkClassicBpf([ins(0x06, 0)]);
  });
});

test('runClassicBpf: loads, ALU, jumps and returns as the kernel runs them', (t) => {
  const pkt = Uint8Array.of(0x45, 0x01, 0x02, 0x03, 0x04, 0xff);
  const run = (program: SockFilter[], meta?: BpfPacketMeta): number => runClassicBpf(program, pkt, meta);
  t.is(run([ins(0x20, 0), ins(0x16)]), 0x45010203); // ld [0]; ret a
  t.is(run([ins(0x28, 4), ins(0x16)]), 0x04ff); // ldh [4]
  t.is(run([ins(0x28, 5), ins(0x16)]), 0); // ldh past the end: drop
  t.is(run([ins(0xb1, 0), ins(0x87), ins(0x16)]), 20); // ldxb 4*([0]&0xf); txa
  t.is(run([ins(0x01, 2), ins(0x50, 3), ins(0x16)]), 0xff); // ldx #2; ldb [x + 3]
  t.is(run([ins(0x00, 7), ins(0x02, 3), ins(0x00, 0), ins(0x60, 3), ins(0x16)]), 7); // st M[3]; ld M[3]
  t.is(run([ins(0x00, 10), ins(0x01, 0), ins(0x3c), ins(0x16)]), 0); // div x with x = 0: drop
  t.is(run([ins(0x00, 10), ins(0x24, 3), ins(0x16)]), 30); // mul #3
  t.is(run([ins(0x00, 2), ins(0x84), ins(0x16)]), 0xfffffffe); // neg
  t.is(run([ins(0x00, 1), ins(0x64, 31), ins(0x74, 30), ins(0x16)]), 2); // lsh 31; rsh 30
  t.is(run([ins(0x80), ins(0x16)]), 6); // ld #len
  t.is(run([ins(0x05, 1), ins(0x06, 1), ins(0x06, 2)]), 2); // ja
  t.is(run([ins(0x00, 5), ins(0x45, 4, 0, 1), ins(0x06, 1), ins(0x06, 2)]), 1); // jset #4
  t.is(run([ins(0x00, 5), ins(0x01, 5), ins(0x3d, 0, 0, 1), ins(0x06, 1), ins(0x06, 2)]), 1); // jge x
  t.is(run([ins(0x20, 0xfffff000 + 4), ins(0x16)], { pktType: 2 }), 2); // ld #type
  t.is(run([ins(0x20, 0xfffff000 + 48), ins(0x16)], { vlanTci: 0 }), 1); // ld #vlan_avail
  t.is(run([ins(0x20, 0xfffff000 + 48), ins(0x16)]), 0);
  t.is(run([ins(0x28, 0xfffff000 + 0), ins(0x16)], { protocol: 0x0806 }), 0x0806); // ldh #proto
});
