import { endianness } from 'node:os';
import test from 'ava';
import fc from 'fast-check';
import { NetlinkParseError, NetlinkSocketError } from '../../src/arp/errors.ts';
import { LinkMonitor, type LinkMonitorEvent, type NetlinkNative } from '../../src/arp/link-monitor.ts';
import type { NativeError, NativeFrame, NativeHandle } from '../../src/arp/native.ts';
import {
  encodeDumpRequest,
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  parseNetlink,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
  type NetlinkMessage,
} from '../../src/arp/netlink.ts';

// ------------------------------------------------ building messages by hand

const LE = endianness() === 'LE';
const IFF_BROADCAST = 0x2;
const IFF_MULTICAST = 0x1000;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_OPERSTATE = 16;
const IFLA_STATS64 = 23;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const NLA_F_NESTED = 0x8000;

const pad4 = (n: number): number => (n + 3) & ~3;

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** An rtattr, padded to 4 bytes unless `pad` is false. */
function attr(type: number, value: Uint8Array, pad = true): Uint8Array {
  const len = 4 + value.length;
  const out = new Uint8Array(pad ? pad4(len) : len);
  const v = new DataView(out.buffer);
  v.setUint16(0, len, LE);
  v.setUint16(2, type, LE);
  out.set(value, 4);
  return out;
}

const str = (s: string): Uint8Array => new Uint8Array(Buffer.from(`${s}\0`));
const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, LE);
  return b;
};
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const mac = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replaceAll(':', ''), 'hex'));
const ip4 = (s: string): Uint8Array => new Uint8Array(s.split('.').map(Number));

interface Hdr {
  type: number;
  flags?: number;
  seq?: number;
  pid?: number;
}

/** nlmsghdr + payload, padded to 4 unless `pad` is false. */
function nlmsg(h: Hdr, payload: Uint8Array, pad = true): Uint8Array {
  const len = 16 + payload.length;
  const out = new Uint8Array(pad ? pad4(len) : len);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, LE);
  v.setUint16(4, h.type, LE);
  v.setUint16(6, h.flags ?? 0, LE);
  v.setUint32(8, h.seq ?? 0, LE);
  v.setUint32(12, h.pid ?? 0, LE);
  out.set(payload, 16);
  return out;
}

function ifinfomsg(index: number, flags: number, ...attrs: Uint8Array[]): Uint8Array {
  const head = new Uint8Array(16);
  const v = new DataView(head.buffer);
  v.setUint16(2, 1, LE); // ARPHRD_ETHER
  v.setInt32(4, index, LE);
  v.setUint32(8, flags, LE);
  return concat(head, ...attrs);
}

function ifaddrmsg(
  family: 2 | 10,
  prefixLength: number,
  scope: number,
  index: number,
  ...attrs: Uint8Array[]
): Uint8Array {
  const head = new Uint8Array(8);
  const v = new DataView(head.buffer);
  v.setUint8(0, family);
  v.setUint8(1, prefixLength);
  v.setUint8(3, scope);
  v.setUint32(4, index, LE);
  return concat(head, ...attrs);
}

const i32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, LE);
  return b;
};

/** eth0 (index 2) as the kernel reports it. */
function eth0(flags: number, operState: number, h: Partial<Hdr> = {}): Uint8Array {
  return nlmsg(
    { type: RTM_NEWLINK, ...h },
    ifinfomsg(
      2,
      flags,
      attr(IFLA_IFNAME, str('eth0')),
      attr(IFLA_MTU, u32(1500)),
      attr(IFLA_OPERSTATE, bytes(operState)),
      attr(IFLA_ADDRESS, mac('02:00:5e:10:00:01')),
      attr(IFLA_STATS64 | NLA_F_NESTED, new Uint8Array(24)), // ignored
    ),
  );
}

const UP_FLAGS = IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING | IFF_LOWER_UP;
const DOWN_FLAGS = IFF_UP | IFF_BROADCAST | IFF_MULTICAST; // admin up, no carrier

function addr4(type: number, address: string, h: Partial<Hdr> = {}): Uint8Array {
  return nlmsg(
    { type, ...h },
    ifaddrmsg(
      2,
      32,
      0,
      2,
      attr(IFA_ADDRESS, ip4(address)),
      attr(IFA_LOCAL, ip4(address)),
      attr(IFA_LABEL, str('eth0')),
    ),
  );
}

function parseCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof NetlinkParseError) return err.code;
    throw err;
  }
}

const bodies = (ms: NetlinkMessage[]): NetlinkMessage['body'][] => ms.map((m) => m.body);

// ------------------------------------------------------------------ parser

test('a link losing carrier, then getting it back', (t) => {
  const [down] = bodies(parseNetlink(eth0(DOWN_FLAGS, 3)));
  t.deepEqual(down, {
    kind: 'link',
    action: 'new',
    index: 2,
    name: 'eth0',
    mac: '02:00:5e:10:00:01',
    mtu: 1500,
    operState: 'lowerlayerdown',
    flags: DOWN_FLAGS,
    up: true,
    running: false,
    lowerUp: false,
  });
  const [up] = bodies(parseNetlink(eth0(UP_FLAGS, 6)));
  t.like(up, { kind: 'link', operState: 'up', up: true, running: true, lowerUp: true });
});

test('a link removed (RTM_DELLINK), with only the attributes the kernel sent', (t) => {
  const [m] = parseNetlink(
    nlmsg({ type: RTM_DELLINK, seq: 0, pid: 0 }, ifinfomsg(7, 0, attr(IFLA_IFNAME, str('veth9')))),
  );
  t.deepEqual(m?.body, {
    kind: 'link',
    action: 'del',
    index: 7,
    name: 'veth9',
    mac: undefined,
    mtu: undefined,
    operState: undefined,
    flags: 0,
    up: false,
    running: false,
    lowerUp: false,
  });
});

test('an IPv4 address added and removed; IFA_LOCAL is the address, IFA_ADDRESS the peer', (t) => {
  t.deepEqual(bodies(parseNetlink(addr4(RTM_NEWADDR, '198.51.100.7'))), [
    {
      kind: 'address',
      action: 'new',
      index: 2,
      family: 4,
      address: '198.51.100.7',
      prefixLength: 32,
      scope: 0,
      label: 'eth0',
    },
  ]);
  t.like(parseNetlink(addr4(RTM_DELADDR, '198.51.100.7'))[0]?.body, {
    action: 'del',
    address: '198.51.100.7',
  });
  const p2p = nlmsg(
    { type: RTM_NEWADDR },
    ifaddrmsg(2, 32, 0, 3, attr(IFA_ADDRESS, ip4('10.0.0.2')), attr(IFA_LOCAL, ip4('10.0.0.1'))),
  );
  t.like(parseNetlink(p2p)[0]?.body, { address: '10.0.0.1' });
});

test('an IPv6 address (IFA_ADDRESS only), in RFC 5952 text', (t) => {
  const a = new Uint8Array(16);
  a.set([0xfd, 0x6d, 0x6c, 0x62], 0);
  a[15] = 0x99;
  const [m] = parseNetlink(nlmsg({ type: RTM_NEWADDR }, ifaddrmsg(10, 64, 253, 2, attr(IFA_ADDRESS, a))));
  t.deepEqual(m?.body, {
    kind: 'address',
    action: 'new',
    index: 2,
    family: 6,
    address: 'fd6d:6c62::99',
    prefixLength: 64,
    scope: 253,
    label: undefined,
  });
});

test('a batch of several messages, in order, with their headers', (t) => {
  const seq = 41;
  const pid = 1234;
  const batch = concat(
    eth0(UP_FLAGS, 6, { flags: NLM_F_MULTI, seq, pid }),
    addr4(RTM_NEWADDR, '192.0.2.11', { flags: NLM_F_MULTI, seq, pid }),
    nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid }, i32(0)),
  );
  const ms = parseNetlink(batch);
  t.deepEqual(
    ms.map((m) => m.body.kind),
    ['link', 'address', 'done'],
  );
  for (const m of ms) t.like(m.header, { flags: NLM_F_MULTI, seq, pid });
  t.is(ms[0]?.header.type, RTM_NEWLINK);
  t.deepEqual(ms[2]?.body, { kind: 'done', error: 0 });
});

test('NLMSG_DONE with and without its error field; NLMSG_ERROR as ack and as failure; NOOP and unknown types', (t) => {
  t.deepEqual(parseNetlink(nlmsg({ type: NLMSG_DONE }, new Uint8Array(0)))[0]?.body, {
    kind: 'done',
    error: 0,
  });
  t.deepEqual(parseNetlink(nlmsg({ type: NLMSG_DONE }, i32(-4)))[0]?.body, { kind: 'done', error: -4 });
  const request = nlmsg({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 9 }, new Uint8Array(16));
  const ack = parseNetlink(nlmsg({ type: NLMSG_ERROR, seq: 9 }, concat(i32(0), request)));
  t.deepEqual(ack[0]?.body, { kind: 'error', errno: 0 });
  t.is(ack[0]?.header.seq, 9);
  t.deepEqual(
    parseNetlink(nlmsg({ type: NLMSG_ERROR, seq: 9 }, concat(i32(-16), request.subarray(0, 16))))[0]?.body,
    {
      kind: 'error',
      errno: 16, // EBUSY
    },
  );
  t.deepEqual(parseNetlink(nlmsg({ type: NLMSG_NOOP }, new Uint8Array(0)))[0]?.body, { kind: 'other' });
  t.deepEqual(parseNetlink(nlmsg({ type: 24 /* RTM_NEWROUTE */ }, new Uint8Array(12)))[0]?.body, {
    kind: 'other',
  });
  // An address of another family (AF_PACKET = 17) is not an error, and not an address event.
  const other = new Uint8Array(8);
  other[0] = 17;
  t.deepEqual(parseNetlink(nlmsg({ type: RTM_NEWADDR }, other))[0]?.body, { kind: 'other' });
  t.deepEqual(parseNetlink(new Uint8Array(0)), []);
});

test('attribute padding: odd-length values are padded; a last attribute or message without padding is accepted', (t) => {
  // "eth0\0" is 5 bytes: its attribute is 9 long, padded to 12, then IFLA_MTU follows.
  const name = attr(IFLA_IFNAME, str('eth0'));
  t.is(name.length, 12);
  t.is(new DataView(name.buffer).getUint16(0, LE), 9);
  const unpaddedLast = ifinfomsg(
    2,
    UP_FLAGS,
    name,
    attr(IFLA_MTU, u32(9000)),
    attr(IFLA_IFNAME, str('x1'), false),
  );
  const m1 = nlmsg({ type: RTM_NEWLINK }, unpaddedLast, false); // length 16+16+12+8+7, not a multiple of 4
  const m2 = nlmsg({ type: RTM_NEWLINK, seq: 2 }, ifinfomsg(3, 0, attr(IFLA_IFNAME, str('eth1'))));
  t.true(m1.length % 4 !== 0);
  // The next message starts at the aligned offset: pad m1 to 4 between them.
  const ms = parseNetlink(concat(m1, new Uint8Array(pad4(m1.length) - m1.length), m2));
  t.like(ms[0]?.body, { kind: 'link', name: 'x1', mtu: 9000 }); // the later IFLA_IFNAME wins
  t.like(ms[1]?.body, { kind: 'link', index: 3, name: 'eth1' });
  // The last message of a datagram may lack its padding.
  t.is(parseNetlink(m1).length, 1);
  // A name without its NUL still reads.
  const noNul = nlmsg(
    { type: RTM_NEWLINK },
    ifinfomsg(4, 0, attr(IFLA_IFNAME, new Uint8Array(Buffer.from('eth2')))),
  );
  t.like(parseNetlink(noNul)[0]?.body, { name: 'eth2' });
});

test('malformed input: each defect throws NetlinkParseError with its code', (t) => {
  const good = eth0(UP_FLAGS, 6);
  t.is(
    parseCode(() => parseNetlink(good.subarray(0, 10))),
    'truncated',
  ); // a partial header
  t.is(
    parseCode(() => parseNetlink(good.subarray(0, good.length - 4))),
    'truncated',
  ); // nlmsg_len past the end
  const short = new Uint8Array(good);
  new DataView(short.buffer).setUint32(0, 8, LE);
  t.is(
    parseCode(() => parseNetlink(short)),
    'bad-length',
  );
  t.is(
    parseCode(() => parseNetlink(concat(good, new Uint8Array(6)))),
    'truncated',
  ); // trailing bytes
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWLINK }, new Uint8Array(12)))),
    'bad-payload',
  );
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWADDR }, new Uint8Array(4)))),
    'bad-payload',
  );
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: NLMSG_ERROR }, new Uint8Array(2)))),
    'bad-payload',
  );
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: NLMSG_ERROR }, i32(5)))),
    'bad-payload',
  );
  // Attributes: length below 4, past the end, a partial header, wrong value sizes.
  const zeroLen = new Uint8Array(4); // len 0
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWLINK }, ifinfomsg(2, 0, zeroLen)))),
    'bad-attribute',
  );
  const overrun = attr(IFLA_IFNAME, str('eth0'));
  new DataView(overrun.buffer).setUint16(0, 40, LE);
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWLINK }, ifinfomsg(2, 0, overrun)))),
    'truncated',
  );
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWLINK }, ifinfomsg(2, 0, bytes(8, 0))))),
    'truncated',
  );
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWLINK }, ifinfomsg(2, 0, attr(IFLA_MTU, bytes(1, 2)))))),
    'bad-attribute',
  );
  t.is(
    parseCode(() =>
      parseNetlink(nlmsg({ type: RTM_NEWLINK }, ifinfomsg(2, 0, attr(IFLA_OPERSTATE, bytes())))),
    ),
    'bad-attribute',
  );
  t.is(
    parseCode(() =>
      parseNetlink(
        nlmsg({ type: RTM_NEWADDR }, ifaddrmsg(2, 24, 0, 2, attr(IFA_LOCAL, bytes(1, 2, 3, 4, 5)))),
      ),
    ),
    'bad-attribute',
  );
  t.is(
    parseCode(() =>
      parseNetlink(nlmsg({ type: RTM_NEWADDR }, ifaddrmsg(2, 33, 0, 2, attr(IFA_LOCAL, ip4('1.2.3.4'))))),
    ),
    'bad-payload',
  );
  t.is(
    parseCode(() => parseNetlink(nlmsg({ type: RTM_NEWADDR }, ifaddrmsg(10, 64, 0, 2)))),
    'bad-payload',
  );
});

test('encodeDumpRequest: RTM_GETLINK / RTM_GETADDR dumps of every family', (t) => {
  const links = encodeDumpRequest('links', 7);
  t.is(links.length, 32);
  t.deepEqual(parseNetlink(links)[0]?.header, {
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST | NLM_F_DUMP,
    seq: 7,
    pid: 0,
  });
  const addrs = encodeDumpRequest('addresses', 8);
  t.is(addrs.length, 24);
  t.like(parseNetlink(addrs)[0]?.header, { type: RTM_GETADDR, seq: 8 });
  t.is(addrs[16], 0, 'AF_UNSPEC');
});

// ------------------------------------------------------------ fuzzing

const linkArb = fc
  .record({
    type: fc.constantFrom(RTM_NEWLINK, RTM_DELLINK),
    index: fc.integer({ min: 1, max: 1 << 20 }),
    flags: fc.nat(),
    name: fc.stringMatching(/^[a-z0-9]{1,15}$/),
    mtu: fc.nat(),
    oper: fc.integer({ min: 0, max: 6 }),
    mac: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    unknown: fc.array(fc.tuple(fc.integer({ min: 100, max: 0x3fff }), fc.uint8Array({ maxLength: 20 })), {
      maxLength: 4,
    }),
  })
  .map((l) =>
    nlmsg(
      { type: l.type },
      ifinfomsg(
        l.index,
        l.flags,
        attr(IFLA_IFNAME, str(l.name)),
        attr(IFLA_MTU, u32(l.mtu)),
        attr(IFLA_OPERSTATE, bytes(l.oper)),
        attr(IFLA_ADDRESS, l.mac),
        ...l.unknown.map(([type, value]) => attr(type, value)),
      ),
    ),
  );
const addrArb = fc
  .record({
    type: fc.constantFrom(RTM_NEWADDR, RTM_DELADDR),
    v6: fc.boolean(),
    a: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    prefix: fc.integer({ min: 0, max: 32 }),
    scope: fc.integer({ min: 0, max: 255 }),
    index: fc.nat(),
  })
  .map((x) =>
    nlmsg(
      { type: x.type },
      x.v6
        ? ifaddrmsg(10, x.prefix, x.scope, x.index, attr(IFA_ADDRESS, x.a))
        : ifaddrmsg(2, x.prefix, x.scope, x.index, attr(IFA_LOCAL, x.a.subarray(0, 4))),
    ),
  );
const controlArb = fc.oneof(
  fc.integer({ min: -4095, max: 0 }).map((e) => nlmsg({ type: NLMSG_DONE }, i32(e))),
  fc
    .integer({ min: -4095, max: 0 })
    .map((e) => nlmsg({ type: NLMSG_ERROR }, concat(i32(e), new Uint8Array(16)))),
  fc.uint8Array({ maxLength: 40 }).map((p) => nlmsg({ type: 24 }, p)),
);
const batchArb = fc.array(fc.oneof(linkArb, addrArb, controlArb), { minLength: 1, maxLength: 6 });

test('fuzz: well-formed batches parse, one message each', (t) => {
  fc.assert(
    fc.property(batchArb, (msgs) => {
      const ms = parseNetlink(concat(...msgs));
      t.is(ms.length, msgs.length);
    }),
  );
});

test('fuzz: arbitrary bytes only ever throw NetlinkParseError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      t.notThrows(() => parseCode(() => parseNetlink(b)));
    }),
    { numRuns: 2_000 },
  );
});

test('fuzz: every truncation of a valid batch parses at message boundaries and throws NetlinkParseError elsewhere', (t) => {
  fc.assert(
    fc.property(batchArb, (msgs) => {
      const all = concat(...msgs);
      const boundaries = new Set<number>([0]);
      let off = 0;
      for (const m of msgs) boundaries.add((off += m.length));
      for (let cut = 0; cut < all.length; cut++) {
        const code = parseCode(() => parseNetlink(all.subarray(0, cut)));
        if (boundaries.has(cut)) t.is(code, undefined, `cut at boundary ${cut}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('fuzz: corrupted bytes of valid batches only ever throw NetlinkParseError', (t) => {
  fc.assert(
    fc.property(
      batchArb,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (msgs, edits) => {
        const b = concat(...msgs);
        for (const [at, value] of edits) b[at % b.length] = value;
        t.notThrows(() => parseCode(() => parseNetlink(b)));
      },
    ),
    { numRuns: 2_000 },
  );
});

// ------------------------------------------- LinkMonitor over a fake kernel

/** Plays the kernel side of the netlink socket. */
class FakeKernel implements NetlinkNative {
  groups = -1;
  readonly sent: Uint8Array[] = [];
  closed = false;
  #onData: ((d: Buffer[]) => void) | undefined;
  #onError: ((e: NativeError) => void) | undefined;

  openNetlink(groups: number): NativeHandle {
    this.groups = groups;
    return {} as NativeHandle;
  }

  start(
    _h: NativeHandle,
    onData: ((frames: NativeFrame[]) => void) | ((datagrams: Buffer[]) => void),
    onError: (err: NativeError) => void,
  ): void {
    this.#onData = onData as (d: Buffer[]) => void;
    this.#onError = onError;
  }

  send(_h: NativeHandle, b: Uint8Array): number {
    this.sent.push(b);
    return b.length;
  }

  close(): void {
    this.closed = true;
  }

  /** The last request: its type and seq. */
  get last(): { type: number; seq: number } {
    const h = parseNetlink(this.sent.at(-1) ?? new Uint8Array(0))[0]?.header;
    return { type: h?.type ?? -1, seq: h?.seq ?? -1 };
  }

  deliver(...datagrams: Uint8Array[]): void {
    this.#onData?.(datagrams.map((d) => Buffer.from(d)));
  }

  fail(code: string): void {
    this.#onError?.(Object.assign(new Error(`recvfrom failed (${code})`), { code, syscall: 'recvfrom' }));
  }

  /** Answers the pending dump with these messages and NLMSG_DONE. */
  answer(...msgs: Uint8Array[]): void {
    const { seq } = this.last;
    const withSeq = msgs.map((m) => {
      const c = new Uint8Array(m);
      const v = new DataView(c.buffer);
      v.setUint32(8, seq, LE);
      v.setUint16(6, v.getUint16(6, LE) | NLM_F_MULTI, LE);
      return c;
    });
    this.deliver(concat(...withSeq, nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq }, i32(0))));
  }
}

function monitor(): {
  kernel: FakeKernel;
  m: LinkMonitor;
  events: LinkMonitorEvent[];
  syncs: number[];
  errors: Error[];
} {
  const kernel = new FakeKernel();
  const events: LinkMonitorEvent[] = [];
  const syncs: number[] = [];
  const errors: Error[] = [];
  const m = new LinkMonitor({
    native: kernel,
    onEvent: (e) => events.push(e),
    onSync: () => syncs.push(events.length),
    onError: (e) => errors.push(e),
  });
  return { kernel, m, events, syncs, errors };
}

test('LinkMonitor: subscribes to link and address groups, dumps links then addresses, then syncs', (t) => {
  const { kernel, m, events, syncs, errors } = monitor();
  m.start();
  t.is(kernel.groups, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
  t.is(kernel.last.type, RTM_GETLINK);
  kernel.answer(eth0(UP_FLAGS, 6));
  t.is(kernel.last.type, RTM_GETADDR);
  t.false(m.synced);
  kernel.answer(addr4(RTM_NEWADDR, '192.0.2.11'));
  t.true(m.synced);
  t.deepEqual(syncs, [2]);
  t.deepEqual(
    events.map((e) => e.kind),
    ['link', 'address'],
  );
  // Later changes arrive as multicast notifications (seq 0).
  kernel.deliver(eth0(DOWN_FLAGS, 3));
  t.like(events.at(-1), { kind: 'link', lowerUp: false });
  t.is(kernel.sent.length, 2, 'no rescan');
  t.deepEqual(errors, []);
  m.stop();
  t.true(kernel.closed);
  t.false(m.synced);
});

test('LinkMonitor: a dump interrupted by a change (NLM_F_DUMP_INTR) is done again', (t) => {
  const { kernel, m, syncs } = monitor();
  m.start();
  kernel.answer(eth0(UP_FLAGS, 6, { flags: NLM_F_DUMP_INTR }));
  t.is(kernel.last.type, RTM_GETLINK, 'links again, not addresses');
  kernel.answer(eth0(UP_FLAGS, 6));
  kernel.answer(addr4(RTM_NEWADDR, '192.0.2.11'));
  t.is(syncs.length, 1);
});

test('LinkMonitor: ENOBUFS (events lost) reports the error and dumps everything again', (t) => {
  const { kernel, m, syncs, errors } = monitor();
  m.start();
  kernel.answer(eth0(UP_FLAGS, 6));
  kernel.answer();
  t.is(syncs.length, 1);
  kernel.fail('ENOBUFS');
  t.true(errors[0] instanceof NetlinkSocketError);
  t.like(errors[0], { name: 'NetlinkSocketError', code: 'ENOBUFS' });
  t.false(m.synced);
  t.is(kernel.last.type, RTM_GETLINK);
  // An overflow during that dump: it is finished, then redone.
  kernel.fail('ENOBUFS');
  const sent = kernel.sent.length;
  kernel.answer(eth0(UP_FLAGS, 6));
  t.is(kernel.sent.length, sent + 1);
  t.is(kernel.last.type, RTM_GETLINK);
  kernel.answer(eth0(UP_FLAGS, 6));
  kernel.answer();
  t.true(m.synced);
  t.is(syncs.length, 2);
});

test('LinkMonitor: a malformed datagram is reported and dropped, the rest of the batch goes on', (t) => {
  const { kernel, m, events, errors } = monitor();
  m.start();
  kernel.deliver(new Uint8Array(7), eth0(UP_FLAGS, 6));
  t.is(errors.length, 1);
  t.true(errors[0] instanceof NetlinkParseError);
  t.is(events.length, 1);
});

test('LinkMonitor: a failed dump is retried, then reported; replies to other requests are ignored', (t) => {
  const { kernel, m, errors, syncs } = monitor();
  m.start();
  kernel.deliver(nlmsg({ type: NLMSG_ERROR, seq: 999 }, concat(i32(-16), new Uint8Array(16))));
  t.is(kernel.sent.length, 1, 'not our request');
  for (let i = 0; i < 11; i++) {
    kernel.deliver(nlmsg({ type: NLMSG_ERROR, seq: kernel.last.seq }, concat(i32(-16), new Uint8Array(16))));
  }
  t.is(kernel.sent.length, 11, 'the first dump and ten retries');
  t.is(errors.length, 1);
  t.like(errors[0], { name: 'NetlinkSocketError', code: 'EBUSY' });
  t.deepEqual(syncs, []);
});

test('LinkMonitor: stop() from an event handler stops the rest of the batch; without onError errors are thrown', (t) => {
  const kernel = new FakeKernel();
  const seen: LinkMonitorEvent[] = [];
  const m = new LinkMonitor({
    native: kernel,
    onEvent: (e) => {
      seen.push(e);
      m.stop();
    },
  });
  m.start();
  kernel.deliver(concat(eth0(UP_FLAGS, 6), eth0(DOWN_FLAGS, 3)));
  t.is(seen.length, 1);
  t.true(kernel.closed);
  const m2 = new LinkMonitor({ native: new FakeKernel(), onEvent: () => undefined });
  const k2 = new FakeKernel();
  const m3 = new LinkMonitor({ native: k2, onEvent: () => undefined });
  m3.start();
  t.throws(
    () => {
      k2.deliver(new Uint8Array(3));
    },
    { instanceOf: NetlinkParseError },
  );
  m2.stop(); // never started: harmless
});
