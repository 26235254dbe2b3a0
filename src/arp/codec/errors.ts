/**
 * Why a received frame was not decoded. Stable strings: the responder counts
 * dropped frames by code (a metric label), so do not rename them.
 *
 * - `truncated`: the bytes end before the structure does (Ethernet header,
 *   ARP body, IPv6 header, or the IPv6 payload its length field announces).
 * - `vlan-tagged`: an 802.1Q / 802.1ad tag inside the bytes; meshlb builds
 *   untagged frames only, so it never answers a tagged request (see ethernet.ts).
 * - `bad-ethertype`: not the EtherType the parser handles (ARP or IPv6).
 * - `bad-hardware`: ARP hardware type is not Ethernet (1) or its length is not 6.
 * - `bad-protocol`: ARP protocol type is not IPv4 (0x0800) or its length is not 4.
 * - `bad-opcode`: ARP operation is neither request (1) nor reply (2).
 * - `bad-version`: IPv6 version field is not 6.
 * - `unsupported`: well-formed but not for us: an IPv6 next header other than
 *   ICMPv6 (extension headers included), an ICMPv6 type other than NS / NA.
 * - `bad-length`: a length that cannot hold the message (ICMPv6 shorter than
 *   its type's fixed part).
 * - `bad-checksum`: the ICMPv6 checksum (with the IPv6 pseudo-header) is wrong.
 * - `bad-code`: ICMPv6 code is not 0 (RFC 4861 §7.1.1, §7.1.2).
 * - `bad-option`: an NDP option with length 0, one that runs past the message,
 *   or a link-layer address option whose length is not 1 (8 bytes: Ethernet).
 */
export type FrameParseErrorCode =
  | 'truncated'
  | 'vlan-tagged'
  | 'bad-ethertype'
  | 'bad-hardware'
  | 'bad-protocol'
  | 'bad-opcode'
  | 'bad-version'
  | 'unsupported'
  | 'bad-length'
  | 'bad-checksum'
  | 'bad-code'
  | 'bad-option';

/**
 * Thrown when received bytes are not a frame the codec accepts. The frame
 * parsers throw this and nothing else, whatever the bytes; the responder drops
 * the frame and counts it by `code`.
 */
export class FrameParseError extends Error {
  override name = 'FrameParseError';
  readonly code: FrameParseErrorCode;

  constructor(code: FrameParseErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

// Thrown when a MAC or IP address given as text (to a builder or an address helper) is not
// valid, or is the wrong kind of address for its role. A programming or configuration
// error, never caused by received bytes. One class with src/ip, which parses IP text.
export { InvalidAddressError } from '../../ip/index.ts';

/** Why a classic BPF program is not one the kernel would attach (see bpf-interp.ts). */
export type BpfProgramErrorCode =
  'length' | 'unknown-opcode' | 'bad-jump' | 'no-return' | 'bad-memory' | 'div-by-zero' | 'bad-ancillary';

/**
 * Thrown when a classic BPF program is invalid: by checkClassicBpf for what
 * the kernel's checker (bpf_check_classic) would refuse, and by runClassicBpf
 * for an instruction it does not model.
 */
export class BpfProgramError extends Error {
  override name = 'BpfProgramError';
  readonly code: BpfProgramErrorCode;

  constructor(code: BpfProgramErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
