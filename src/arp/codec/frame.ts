/**
 * One entry point for a frame from a packet socket that carries both ARP and
 * IPv6 (or whose protocol the caller does not track): dispatch on EtherType.
 */
import { parseArpFrame, type ArpFrame } from './arp.ts';
import { FrameParseError } from './errors.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, parseEthernet } from './ethernet.ts';
import { parseNdpFrame, type NdpFrame } from './ndp.ts';

/** A frame the responder handles: ARP, NS or NA, told apart by `kind`. */
export type ParsedFrame = ArpFrame | NdpFrame;

/**
 * Parse an ARP (EtherType 0x0806) or NS / NA (0x86dd) frame. Throws
 * FrameParseError only: `bad-ethertype` for any other EtherType, else the codes
 * of parseArpFrame / parseNdpFrame.
 */
export function parseFrame(frame: Uint8Array): ParsedFrame {
  const { ethertype } = parseEthernet(frame);
  if (ethertype === ETHERTYPE_ARP) return parseArpFrame(frame);
  if (ethertype === ETHERTYPE_IPV6) return parseNdpFrame(frame);
  throw new FrameParseError('bad-ethertype', `EtherType 0x${ethertype.toString(16)} is neither ARP nor IPv6`);
}
