/**
 * Classic BPF socket filters (SO_ATTACH_FILTER) for the responder's AF_PACKET
 * SOCK_RAW sockets. The program sees the frame from the Ethernet header; it
 * returns how many bytes to keep: 0 drops the frame, BPF_ACCEPT keeps it whole.
 *
 * Encoding (linux/filter.h, linux/bpf_common.h): an array of
 * `struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }`, 8 bytes each
 * in host byte order (little-endian on x86-64 and arm64). `code` ORs an
 * instruction class, a size / mode or operation, and a source:
 *
 *   class:  BPF_LD 0x00, BPF_LDX 0x01, BPF_ST 0x02, BPF_STX 0x03, BPF_ALU 0x04,
 *           BPF_JMP 0x05, BPF_RET 0x06, BPF_MISC 0x07
 *   size:   BPF_W 0x00 (32 bits), BPF_H 0x08 (16), BPF_B 0x10 (8)
 *   mode:   BPF_IMM 0x00, BPF_ABS 0x20, BPF_IND 0x40, BPF_MEM 0x60, BPF_LEN 0x80, BPF_MSH 0xa0
 *   alu:    BPF_ADD 0x00 … BPF_AND 0x50 … (op in the high nibble)
 *   jmp:    BPF_JA 0x00, BPF_JEQ 0x10, BPF_JGT 0x20, BPF_JGE 0x30, BPF_JSET 0x40
 *   source: BPF_K 0x00 (the constant k), BPF_X 0x08 (register X); for RET, BPF_A 0x10
 *
 * so `ldh [12]` is BPF_LD|BPF_H|BPF_ABS = 0x28, `ldb [20]` is 0x30, `ld len`
 * is BPF_LD|BPF_W|BPF_LEN = 0x80, `ldx len` is 0x81, `and #k` is
 * BPF_ALU|BPF_AND|BPF_K = 0x54, `add #k` is 0x04, `jeq #k` is
 * BPF_JMP|BPF_JEQ|BPF_K = 0x15, `jge #k` is 0x35, `jgt x` is BPF_JMP|BPF_JGT|BPF_X
 * = 0x2d, `ret #k` is BPF_RET|BPF_K = 0x06. Conditional jumps skip `jt` / `jf`
 * instructions forward (0 = the next one). A load past the end of the frame
 * ends the program with 0 (drop). Loads at SKF_AD_OFF + n read packet metadata
 * instead of bytes ("ancillary data"): pkt_type, vlan_tci, ...
 *
 * Both filters first drop frames the socket should never answer. What each
 * check catches was measured on Linux 6.18 (veth and macvlan in namespaces):
 *
 * - pkt_type >= PACKET_OTHERHOST (3): frames for another host (promiscuous
 *   mode), our own transmissions (OUTGOING, seen by ETH_P_ALL sockets), our
 *   multicast looped back. It also catches 802.1Q-tagged frames on a socket
 *   bound to one EtherType (ETH_P_ARP, ETH_P_IPV6): when no VLAN device takes
 *   the frame the kernel marks it OTHERHOST and *clears* the tag before such
 *   sockets see it, so pkt_type is the only trace of the VLAN left.
 * - a VLAN ID in the metadata (`vlan_tci & 0xfff != 0`): an ETH_P_ALL socket
 *   sees tagged frames before that, with the tag in the metadata only (never
 *   in the bytes) and pkt_type still HOST / BROADCAST. Priority-tagged frames
 *   (VLAN ID 0) pass.
 * - with `ifindex`: the receiving device is the one the socket is bound to. A
 *   socket bound to eth0 also receives the frames that the kernel hands on to
 *   an upper device of eth0 (an 802.1Q sub-interface eth0.100, a macvlan):
 *   they arrive untagged, with pkt_type relative to the upper device and
 *   `sll_ifindex` naming it. Without this check a VLAN 100 request would be
 *   answered untagged on eth0.
 */
import { BpfProgramError } from './errors.ts';
import { ARP_PACKET_BYTES } from './arp.ts';
import { ETHERNET_HEADER_BYTES, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './ethernet.ts';
import { ICMPV6_NEIGHBOR_ADVERTISEMENT, ICMPV6_NEIGHBOR_SOLICITATION, NDP_MESSAGE_BYTES } from './icmpv6.ts';
import { IPV6_HEADER_BYTES, NEXT_HEADER_ICMPV6 } from './ipv6.ts';

/** One classic BPF instruction (`struct sock_filter`). */
export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// Instruction classes.
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;
// Load sizes.
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
// Load modes.
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;
// ALU operations.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
// Jumps.
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
// Operand sources.
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_A = 0x10;
// BPF_MISC operations.
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** Offset of ancillary (metadata) loads: k = SKF_AD_OFF + SKF_AD_* (as a u32). */
export const SKF_AD_OFF = -0x1000;
export const SKF_AD_PROTOCOL = 0;
export const SKF_AD_PKTTYPE = 4;
export const SKF_AD_IFINDEX = 8;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
/** pkt_type of a frame for another host (linux/if_packet.h); higher values are OUTGOING, LOOPBACK, ... */
export const PACKET_OTHERHOST = 3;
/** pkt_type of a frame this host sent. */
export const PACKET_OUTGOING = 4;

/** What an accepting filter returns: keep up to this many bytes (more than any frame). */
export const BPF_ACCEPT = 0x40000;
/** Bytes of struct sock_filter. */
export const SOCK_FILTER_BYTES = 8;

/** A program step: an instruction whose jumps name labels, or a label. */
type Step =
  | { readonly code: number; readonly k: number; readonly jt?: string; readonly jf?: string }
  | { readonly label: string };

const ancillary = (n: number): number => (SKF_AD_OFF + n) >>> 0;
const stmt = (code: number, k = 0): Step => ({ code, k });
/** A conditional jump: to `jt` if true, `jf` if false; an omitted target is the next instruction. */
const jump = (code: number, k: number, targets: { jt?: string; jf?: string }): Step => ({
  code,
  k,
  ...targets,
});

/** Resolve labels to forward jump offsets. Throws BpfProgramError for a backward or far jump. */
function assemble(steps: readonly Step[]): SockFilter[] {
  const labels = new Map<string, number>();
  let n = 0;
  for (const s of steps) {
    if ('label' in s) labels.set(s.label, n);
    else n++;
  }
  const out: SockFilter[] = [];
  const offset = (label: string | undefined, pc: number): number => {
    if (label === undefined) return 0;
    const to = labels.get(label);
    const off = to === undefined ? -1 : to - pc - 1;
    if (off < 0 || off > 255)
      throw new BpfProgramError('bad-jump', `jump from ${pc} to ${label} is not 0…255 forward`);
    return off;
  };
  for (const s of steps) {
    if ('label' in s) continue;
    const pc = out.length;
    out.push({ code: s.code, jt: offset(s.jt, pc), jf: offset(s.jf, pc), k: s.k >>> 0 });
  }
  return out;
}

/** Options of both filters. */
export interface FilterOptions {
  /**
   * The index of the interface the socket is bound to: frames received by
   * any other device (an upper VLAN or macvlan device of it) are dropped.
   * Recommended; omit only when the index is not known.
   */
  readonly ifindex?: number;
}

/** The common prologue: drop frames not for us, from a VLAN, or from another device (see the file comment). */
function prologue(options: FilterOptions): Step[] {
  const steps: Step[] = [
    stmt(BPF_LD | BPF_W | BPF_ABS, ancillary(SKF_AD_PKTTYPE)),
    jump(BPF_JMP | BPF_JGE | BPF_K, PACKET_OTHERHOST, { jt: 'drop' }),
    stmt(BPF_LD | BPF_W | BPF_ABS, ancillary(SKF_AD_VLAN_TAG)),
    stmt(BPF_ALU | BPF_AND | BPF_K, 0x0fff),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 0, { jf: 'drop' }),
  ];
  const { ifindex } = options;
  if (ifindex !== undefined) {
    if (!Number.isInteger(ifindex) || ifindex <= 0 || ifindex > 0x7fffffff)
      throw new RangeError(`ifindex must be a positive interface index, got ${ifindex}`);
    steps.push(
      stmt(BPF_LD | BPF_W | BPF_ABS, ancillary(SKF_AD_IFINDEX)),
      jump(BPF_JMP | BPF_JEQ | BPF_K, ifindex, { jf: 'drop' }),
    );
  }
  return steps;
}

const EPILOGUE: readonly Step[] = [
  { label: 'accept' },
  stmt(BPF_RET | BPF_K, BPF_ACCEPT),
  { label: 'drop' },
  stmt(BPF_RET | BPF_K, 0),
];

/**
 * The ARP filter as instructions: accept exactly the frames parseArpFrame
 * accepts (EtherType 0x0806, htype 1, ptype 0x0800, hlen 6, plen 4, op 1 or 2,
 * at least 42 bytes), after the prologue.
 */
export function arpFilterProgram(options: FilterOptions = {}): SockFilter[] {
  const ldh = (at: number): Step => stmt(BPF_LD | BPF_H | BPF_ABS, at);
  const jeqElseDrop = (k: number): Step => jump(BPF_JMP | BPF_JEQ | BPF_K, k, { jf: 'drop' });
  const arp = ETHERNET_HEADER_BYTES;
  return assemble([
    ...prologue(options),
    stmt(BPF_LD | BPF_W | BPF_LEN),
    jump(BPF_JMP | BPF_JGE | BPF_K, ETHERNET_HEADER_BYTES + ARP_PACKET_BYTES, { jf: 'drop' }),
    ldh(12),
    jeqElseDrop(ETHERTYPE_ARP),
    ldh(arp),
    jeqElseDrop(1),
    ldh(arp + 2),
    jeqElseDrop(ETHERTYPE_IPV4),
    ldh(arp + 4),
    jeqElseDrop(0x0604),
    ldh(arp + 6),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 1, { jt: 'accept' }),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 2, { jt: 'accept', jf: 'drop' }),
    ...EPILOGUE,
  ]);
}

/**
 * The NDP filter as instructions, after the prologue: EtherType 0x86dd, IP
 * version 6, next header 58 (ICMPv6, no extension headers), ICMPv6 type 135
 * or 136 with code 0, a payload length of at least 24 that fits in the frame.
 * What it cannot check is left to parseNdpFrame: the checksum and the options.
 * Hop limit is not filtered, so the responder can count hop-limit drops.
 */
export function ndpFilterProgram(options: FilterOptions = {}): SockFilter[] {
  const ldb = (at: number): Step => stmt(BPF_LD | BPF_B | BPF_ABS, at);
  const jeqElseDrop = (k: number): Step => jump(BPF_JMP | BPF_JEQ | BPF_K, k, { jf: 'drop' });
  const ip = ETHERNET_HEADER_BYTES;
  const icmp = ip + IPV6_HEADER_BYTES;
  return assemble([
    ...prologue(options),
    stmt(BPF_LD | BPF_W | BPF_LEN),
    jump(BPF_JMP | BPF_JGE | BPF_K, icmp + NDP_MESSAGE_BYTES, { jf: 'drop' }),
    stmt(BPF_LD | BPF_H | BPF_ABS, 12),
    jeqElseDrop(ETHERTYPE_IPV6),
    ldb(ip),
    stmt(BPF_ALU | BPF_AND | BPF_K, 0xf0),
    jeqElseDrop(0x60),
    ldb(ip + 6),
    jeqElseDrop(NEXT_HEADER_ICMPV6),
    ldb(icmp),
    jump(BPF_JMP | BPF_JEQ | BPF_K, ICMPV6_NEIGHBOR_SOLICITATION, { jt: 'code' }),
    jump(BPF_JMP | BPF_JEQ | BPF_K, ICMPV6_NEIGHBOR_ADVERTISEMENT, { jf: 'drop' }),
    { label: 'code' },
    ldb(icmp + 1),
    jeqElseDrop(0),
    // payload length >= 24 and 54 + payload length <= frame length
    stmt(BPF_LDX | BPF_W | BPF_LEN),
    stmt(BPF_LD | BPF_H | BPF_ABS, ip + 4),
    jump(BPF_JMP | BPF_JGE | BPF_K, NDP_MESSAGE_BYTES, { jf: 'drop' }),
    stmt(BPF_ALU | BPF_ADD | BPF_K, icmp),
    jump(BPF_JMP | BPF_JGT | BPF_X, 0, { jt: 'drop', jf: 'accept' }),
    ...EPILOGUE,
  ]);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Encode instructions as an array of struct sock_filter in host byte order. */
export function encodeFilter(program: readonly SockFilter[]): Buffer {
  const out = Buffer.alloc(program.length * SOCK_FILTER_BYTES);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  program.forEach((insn, i) => {
    view.setUint16(i * 8, insn.code, HOST_LITTLE_ENDIAN);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, HOST_LITTLE_ENDIAN);
  });
  return out;
}

/** Decode an array of struct sock_filter (host byte order). Throws BpfProgramError for a partial entry. */
export function decodeFilter(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % SOCK_FILTER_BYTES !== 0)
    throw new BpfProgramError('length', `${bytes.length} bytes is not a whole number of 8-byte instructions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: SockFilter[] = [];
  for (let i = 0; i < bytes.length; i += SOCK_FILTER_BYTES)
    out.push({
      code: view.getUint16(i, HOST_LITTLE_ENDIAN),
      jt: view.getUint8(i + 2),
      jf: view.getUint8(i + 3),
      k: view.getUint32(i + 4, HOST_LITTLE_ENDIAN),
    });
  return out;
}

/**
 * The ARP socket filter, ready for setsockopt(SO_ATTACH_FILTER): pass
 * `{ len: buffer.length / 8, filter: buffer }` as struct sock_fprog.
 */
export function arpFilter(options: FilterOptions = {}): Buffer {
  return encodeFilter(arpFilterProgram(options));
}

/** The NDP socket filter, ready for setsockopt(SO_ATTACH_FILTER) (see arpFilter). */
export function ndpFilter(options: FilterOptions = {}): Buffer {
  return encodeFilter(ndpFilterProgram(options));
}
