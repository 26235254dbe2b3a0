/**
 * A classic BPF interpreter and checker, to test socket filters without a
 * kernel. It follows the Linux semantics for socket filters: A, X and the 16
 * scratch words start at 0; a packet load past the end of the frame, or a
 * division by X = 0, ends the program with 0 (drop); values are unsigned 32-bit.
 * Ancillary loads model pkt_type, protocol, ifindex, vlan_tci and vlan_avail only.
 */
import {
  BPF_A,
  BPF_ABS,
  BPF_ALU,
  BPF_B,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MEM,
  BPF_MISC,
  BPF_MSH,
  BPF_RET,
  BPF_ST,
  BPF_STX,
  BPF_W,
  BPF_X,
  SKF_AD_IFINDEX,
  SKF_AD_OFF,
  SKF_AD_PKTTYPE,
  SKF_AD_PROTOCOL,
  SKF_AD_VLAN_TAG,
  SKF_AD_VLAN_TAG_PRESENT,
  type SockFilter,
} from './bpf.ts';
import { BpfProgramError } from './errors.ts';

/** Packet metadata visible to ancillary loads. */
export interface BpfPacketMeta {
  /** skb->pkt_type: 0 host (default), 1 broadcast, 2 multicast, 3 other host, 4 outgoing. */
  readonly pktType?: number;
  /** skb->protocol (host order); default: the frame's EtherType. */
  readonly protocol?: number;
  /** skb->dev->ifindex: the device that received the frame (default 0). */
  readonly ifindex?: number;
  /** The 802.1Q TCI the kernel took out of the frame; undefined when untagged. */
  readonly vlanTci?: number;
}

/** Largest program the kernel accepts (BPF_MAXINSNS). */
export const BPF_MAX_INSNS = 4096;
const SCRATCH_WORDS = 16;

const CLASS = (code: number): number => code & 0x07;
const SIZE = (code: number): number => code & 0x18;
const MODE = (code: number): number => code & 0xe0;
const OP = (code: number): number => code & 0xf0;
const SRC = (code: number): number => code & 0x08;

const ANCILLARY = new Set([
  SKF_AD_PROTOCOL,
  SKF_AD_PKTTYPE,
  SKF_AD_IFINDEX,
  SKF_AD_VLAN_TAG,
  SKF_AD_VLAN_TAG_PRESENT,
]);

/** Every opcode the kernel's classic checker accepts (net/core/filter.c, bpf_check_classic). */
const VALID_CODES = new Set([
  // ld: #k, M[k], len, [k] and [x + k] in each width
  BPF_LD | BPF_IMM,
  BPF_LD | BPF_MEM,
  BPF_LD | BPF_W | BPF_LEN,
  ...[BPF_W, BPF_H, BPF_B].flatMap((size) => [BPF_LD | size | BPF_ABS, BPF_LD | size | BPF_IND]),
  // ldx: #k, M[k], len, 4*([k]&0xf)
  BPF_LDX | BPF_IMM,
  BPF_LDX | BPF_MEM,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_LDX | BPF_B | BPF_MSH,
  BPF_ST,
  BPF_STX,
  // alu: add sub mul div or and lsh rsh mod xor with k or x, and neg
  ...[0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0].flatMap((op) => [
    BPF_ALU | op | BPF_K,
    BPF_ALU | op | BPF_X,
  ]),
  BPF_ALU | 0x80,
  // jmp: ja, and jeq jgt jge jset with k or x
  BPF_JMP,
  BPF_K,
  ...[0x10, 0x20, 0x30, 0x40].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  BPF_MISC | 0x00,
  BPF_MISC | 0x80,
]);

function describe(pc: number, insn: SockFilter): string {
  return `instruction ${pc} (code 0x${insn.code.toString(16)}, k ${insn.k})`;
}

/** The ancillary field index of an ABS load's k, or undefined for a packet offset. */
function ancillaryIndex(k: number): number | undefined {
  const signed = k | 0;
  return signed < 0 && signed >= SKF_AD_OFF ? signed - SKF_AD_OFF : undefined;
}

/**
 * Check `program` as the kernel's bpf_check_classic would before attaching it:
 * 1…4096 instructions, known opcodes, jumps forward and inside the program,
 * scratch memory indexes 0…15, no division by constant 0, a return last.
 * Ancillary loads must be ones this interpreter models. Throws BpfProgramError.
 */
export function checkClassicBpf(program: readonly SockFilter[]): void {
  const n = program.length;
  if (n === 0 || n > BPF_MAX_INSNS)
    throw new BpfProgramError('length', `${n} instructions, want 1…${BPF_MAX_INSNS}`);
  program.forEach((insn, pc) => {
    const { code, k } = insn;
    if (!VALID_CODES.has(code)) throw new BpfProgramError('unknown-opcode', describe(pc, insn));
    const cls = CLASS(code);
    if ((MODE(code) === BPF_MEM && (cls === BPF_LD || cls === BPF_LDX)) || cls === BPF_ST || cls === BPF_STX)
      if (k >= SCRATCH_WORDS)
        throw new BpfProgramError('bad-memory', `${describe(pc, insn)}: scratch index ${k}`);
    if (cls === BPF_LD && MODE(code) === BPF_ABS && (k | 0) < 0) {
      const index = ancillaryIndex(k);
      if (index === undefined || !ANCILLARY.has(index))
        throw new BpfProgramError('bad-ancillary', `${describe(pc, insn)}: not a modelled ancillary field`);
    }
    if (cls === BPF_ALU && (OP(code) === 0x30 || OP(code) === 0x90) && SRC(code) === BPF_K && k === 0)
      throw new BpfProgramError('div-by-zero', describe(pc, insn));
    if (cls === BPF_JMP) {
      const offsets = OP(code) === 0x00 ? [k] : [insn.jt, insn.jf];
      for (const off of offsets)
        if (pc + 1 + off >= n)
          throw new BpfProgramError(
            'bad-jump',
            `${describe(pc, insn)}: jumps past the end (${n} instructions)`,
          );
    }
  });
  const last = program[n - 1];
  if (last === undefined || CLASS(last.code) !== BPF_RET)
    throw new BpfProgramError('no-return', 'the last instruction must be a return');
}

function load(packet: Uint8Array, at: number, size: number): number | undefined {
  const width = size === BPF_W ? 4 : size === BPF_H ? 2 : 1;
  if (at < 0 || at + width > packet.length) return undefined;
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + (packet[at + i] ?? 0);
  return v;
}

function ancillaryValue(index: number, packet: Uint8Array, meta: BpfPacketMeta): number {
  switch (index) {
    case SKF_AD_PKTTYPE:
      return meta.pktType ?? 0;
    case SKF_AD_IFINDEX:
      return meta.ifindex ?? 0;
    case SKF_AD_PROTOCOL:
      return meta.protocol ?? (packet.length >= 14 ? ((packet[12] ?? 0) << 8) | (packet[13] ?? 0) : 0);
    case SKF_AD_VLAN_TAG:
      return (meta.vlanTci ?? 0) & 0xffff;
    case SKF_AD_VLAN_TAG_PRESENT:
      return meta.vlanTci === undefined ? 0 : 1;
    default:
      throw new BpfProgramError('bad-ancillary', `ancillary field ${index} is not modelled`);
  }
}

function alu(op: number, a: number, operand: number): number | undefined {
  switch (op) {
    case 0x00:
      return (a + operand) >>> 0;
    case 0x10:
      return (a - operand) >>> 0;
    case 0x20:
      return Math.imul(a, operand) >>> 0;
    case 0x30:
      return operand === 0 ? undefined : Math.floor(a / operand) >>> 0;
    case 0x40:
      return (a | operand) >>> 0;
    case 0x50:
      return (a & operand) >>> 0;
    case 0x60:
      return operand >= 32 ? 0 : (a << operand) >>> 0;
    case 0x70:
      return operand >= 32 ? 0 : a >>> operand;
    case 0x80:
      return -a >>> 0;
    case 0x90:
      return operand === 0 ? undefined : (a % operand) >>> 0;
    case 0xa0:
      return (a ^ operand) >>> 0;
    default:
      throw new BpfProgramError('unknown-opcode', `ALU operation 0x${op.toString(16)}`);
  }
}

/**
 * Run a classic BPF socket filter over `packet` (the frame from its Ethernet
 * header) and return what the kernel would: the number of bytes to keep, 0 to
 * drop. Checks the program first (checkClassicBpf). Throws BpfProgramError.
 */
export function runClassicBpf(
  program: readonly SockFilter[],
  packet: Uint8Array,
  meta: BpfPacketMeta = {},
): number {
  checkClassicBpf(program);
  let a = 0;
  let x = 0;
  const mem = new Array<number>(SCRATCH_WORDS).fill(0);
  for (let pc = 0; pc < program.length; pc++) {
    const insn = program[pc];
    if (insn === undefined) break;
    const { code, k } = insn;
    switch (CLASS(code)) {
      case BPF_LD: {
        const mode = MODE(code);
        if (mode === BPF_IMM) a = k;
        else if (mode === BPF_LEN) a = packet.length;
        else if (mode === BPF_MEM) a = mem[k] ?? 0;
        else {
          const index = mode === BPF_ABS ? ancillaryIndex(k) : undefined;
          if (index !== undefined) a = ancillaryValue(index, packet, meta) >>> 0;
          else {
            const v = load(packet, mode === BPF_IND ? (x + k) >>> 0 : k, SIZE(code));
            if (v === undefined) return 0;
            a = v;
          }
        }
        break;
      }
      case BPF_LDX: {
        const mode = MODE(code);
        if (mode === BPF_IMM) x = k;
        else if (mode === BPF_LEN) x = packet.length;
        else if (mode === BPF_MEM) x = mem[k] ?? 0;
        else {
          const v = load(packet, k, BPF_B);
          if (v === undefined) return 0;
          x = (v & 0x0f) * 4;
        }
        break;
      }
      case BPF_ST:
        mem[k] = a;
        break;
      case BPF_STX:
        mem[k] = x;
        break;
      case BPF_ALU: {
        const v = alu(OP(code), a, SRC(code) === BPF_X ? x : k);
        if (v === undefined) return 0;
        a = v;
        break;
      }
      case BPF_JMP: {
        const op = OP(code);
        if (op === 0x00) {
          pc += k;
          break;
        }
        const operand = SRC(code) === BPF_X ? x : k;
        const taken =
          op === 0x10
            ? a === operand
            : op === 0x20
              ? a > operand
              : op === 0x30
                ? a >= operand
                : (a & operand) !== 0;
        pc += taken ? insn.jt : insn.jf;
        break;
      }
      case BPF_RET:
        return (code & BPF_A) !== 0 ? a : k >>> 0;
      case BPF_MISC:
        if (code & 0x80) a = x;
        else x = a;
        break;
    }
  }
  throw new BpfProgramError('no-return', 'the program ran off its end');
}

const JMP_NAMES: Record<number, string> = { 0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset' };
const ALU_NAMES: Record<number, string> = {
  0x00: 'add',
  0x10: 'sub',
  0x20: 'mul',
  0x30: 'div',
  0x40: 'or',
  0x50: 'and',
  0x60: 'lsh',
  0x70: 'rsh',
  0x80: 'neg',
  0x90: 'mod',
  0xa0: 'xor',
};
const ANCILLARY_NAMES: Record<number, string> = {
  [SKF_AD_PROTOCOL]: 'proto',
  [SKF_AD_PKTTYPE]: 'type',
  [SKF_AD_IFINDEX]: 'ifidx',
  [SKF_AD_VLAN_TAG]: 'vlan_tci',
  [SKF_AD_VLAN_TAG_PRESENT]: 'vlan_avail',
};

/** One line per instruction, in the style of `tcpdump -d` / bpf_asm, for logs and docs. */
export function disassemble(program: readonly SockFilter[]): string {
  return program
    .map((insn, pc) => {
      const { code, k, jt, jf } = insn;
      const hex = `0x${k.toString(16)}`;
      const size = SIZE(code) === BPF_W ? '' : SIZE(code) === BPF_H ? 'h' : 'b';
      let text: string;
      switch (CLASS(code)) {
        case BPF_LD: {
          const mode = MODE(code);
          const index = ancillaryIndex(k);
          if (mode === BPF_LEN) text = 'ld #len';
          else if (mode === BPF_IMM) text = `ld #${hex}`;
          else if (mode === BPF_MEM) text = `ld M[${k}]`;
          else if (mode === BPF_IND) text = `ld${size} [x + ${k}]`;
          else if (index !== undefined) text = `ld${size} #${ANCILLARY_NAMES[index] ?? `ancillary ${index}`}`;
          else text = `ld${size} [${k}]`;
          break;
        }
        case BPF_LDX: {
          const mode = MODE(code);
          text =
            mode === BPF_LEN
              ? 'ldx #len'
              : mode === BPF_MSH
                ? `ldxb 4*([${k}]&0xf)`
                : mode === BPF_MEM
                  ? `ldx M[${k}]`
                  : `ldx #${hex}`;
          break;
        }
        case BPF_ST:
          text = `st M[${k}]`;
          break;
        case BPF_STX:
          text = `stx M[${k}]`;
          break;
        case BPF_ALU:
          text =
            `${ALU_NAMES[OP(code)] ?? '?'} ${OP(code) === 0x80 ? '' : SRC(code) === BPF_X ? 'x' : `#${hex}`}`.trim();
          break;
        case BPF_JMP:
          text =
            OP(code) === 0x00
              ? `ja ${pc + 1 + k}`
              : `${JMP_NAMES[OP(code)] ?? '?'} ${SRC(code) === BPF_X ? 'x' : `#${hex}`} jt ${pc + 1 + jt} jf ${pc + 1 + jf}`;
          break;
        case BPF_RET:
          text = (code & BPF_A) !== 0 ? 'ret a' : `ret #${k}`;
          break;
        default:
          text = code & 0x80 ? 'txa' : 'tax';
      }
      return `(${String(pc).padStart(3, '0')}) ${text}`;
    })
    .join('\n');
}
