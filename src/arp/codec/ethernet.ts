/**
 * Ethernet II headers: destination MAC, source MAC, EtherType (14 bytes).
 *
 * VLAN tags: rejected, not parsed out. On Linux an AF_PACKET socket never sees
 * the outer 802.1Q tag in the bytes: the kernel moves it to packet metadata
 * (PACKET_AUXDATA `tp_vlan_tci`, classic BPF `vlan_tci`) before the socket
 * sees the frame. A tag that is still in the bytes is an inner (QinQ) tag or
 * a frame from something other than a Linux packet socket. meshlb builds
 * untagged frames only, so answering a tagged request would put the answer on
 * the wrong VLAN; the parser throws `vlan-tagged` so the frame is dropped and
 * counted, and the BPF filters (bpf.ts) drop frames whose metadata carries a
 * VLAN ID for the same reason.
 */
import { macToBytes, macToString } from './addr.ts';
import { FrameParseError } from './errors.ts';

/** EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** EtherType (TPID) of an 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** EtherType (TPID) of an 802.1ad service tag (QinQ). */
export const ETHERTYPE_QINQ = 0x88a8;
/** Bytes in an Ethernet II header (no tag). */
export const ETHERNET_HEADER_BYTES = 14;
/**
 * The minimum Ethernet frame without its FCS. Builders pad shorter frames with
 * zeros to this length (as NICs do, but a packet socket may hand a short frame
 * to a driver that does not pad, e.g. veth, and some switches drop runts).
 */
export const ETHERNET_MIN_FRAME_BYTES = 60;

const TAG_TPIDS = new Set([ETHERTYPE_VLAN, ETHERTYPE_QINQ, 0x9100]);

/** An Ethernet II header, addresses as canonical text (addr.ts). */
export interface EthernetHeader {
  readonly dst: string;
  readonly src: string;
  readonly ethertype: number;
}

/** A parsed Ethernet II frame: its header and a view of the bytes after it (padding included). */
export interface EthernetFrame extends EthernetHeader {
  readonly payload: Uint8Array;
}

/**
 * Parse the Ethernet II header at the start of `frame`. `payload` is a view of
 * everything after the 14 header bytes. Throws FrameParseError `truncated` (under 14 bytes) or
 * `vlan-tagged` (EtherType 0x8100, 0x88a8 or 0x9100); it does not judge any
 * other EtherType.
 */
export function parseEthernet(frame: Uint8Array): EthernetFrame {
  if (frame.length < ETHERNET_HEADER_BYTES)
    throw new FrameParseError(
      'truncated',
      `an Ethernet header is ${ETHERNET_HEADER_BYTES} bytes, the frame has ${frame.length}`,
    );
  const ethertype = ((frame[12] ?? 0) << 8) | (frame[13] ?? 0);
  if (TAG_TPIDS.has(ethertype)) {
    const vid = frame.length >= 16 ? (((frame[14] ?? 0) << 8) | (frame[15] ?? 0)) & 0x0fff : undefined;
    throw new FrameParseError(
      'vlan-tagged',
      `frame carries a VLAN tag (TPID 0x${ethertype.toString(16)}, VLAN ${vid ?? '?'}); meshlb answers untagged frames only`,
    );
  }
  return {
    dst: macToString(frame, 0),
    src: macToString(frame, 6),
    ethertype,
    payload: frame.subarray(ETHERNET_HEADER_BYTES),
  };
}

/**
 * Build an Ethernet II frame around `payload`, zero-padded to
 * ETHERNET_MIN_FRAME_BYTES. Throws InvalidAddressError for a bad MAC and
 * RangeError for an EtherType outside 0x0600…0xffff.
 */
export function buildEthernet(header: EthernetHeader, payload: Uint8Array): Buffer {
  if (!Number.isInteger(header.ethertype) || header.ethertype < 0x0600 || header.ethertype > 0xffff)
    throw new RangeError(`EtherType must be 0x0600…0xffff, got ${header.ethertype}`);
  const length = Math.max(ETHERNET_MIN_FRAME_BYTES, ETHERNET_HEADER_BYTES + payload.length);
  const frame = Buffer.alloc(length);
  frame.set(macToBytes(header.dst), 0);
  frame.set(macToBytes(header.src), 6);
  frame.writeUInt16BE(header.ethertype, 12);
  frame.set(payload, ETHERNET_HEADER_BYTES);
  return frame;
}
