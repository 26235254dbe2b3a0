// The ARP / NDP frame codecs: pure functions from bytes to frames and back,
// and the classic BPF socket filters. No I/O: the packet socket (../packet-socket.ts)
// moves the bytes, the responder decides what to answer.
//
// Example: answer an ARP request for a VIP.
//
//   const frame = parseFrame(bytes);            // throws FrameParseError: drop and count by code
//   if (frame.kind === 'arp' && frame.arp.op === 'request' && vips.has(frame.arp.targetIp))
//     send(arpReply({ request: frame.arp, mac }));
// IP address text is src/ip's, under the same names (and the same InvalidAddressError).
export {
  canonicalIp,
  ipToBytes,
  ipToString,
  ipv4ToBytes,
  ipv4ToString,
  ipv6ToBytes,
  ipv6ToString,
} from '../../ip/index.ts';
export {
  ALL_NODES_IPV6,
  ALL_NODES_MAC,
  BROADCAST_MAC,
  canonicalIPv4,
  canonicalIPv6,
  canonicalMac,
  ipv6MulticastMac,
  isIPv6Multicast,
  isMulticastMac,
  macToBytes,
  macToString,
  solicitedNodeAddress,
  solicitedNodeBytes,
  solicitedNodeMac,
  UNSPECIFIED_IPV4,
  UNSPECIFIED_IPV6,
  ZERO_MAC,
} from './addr.ts';
export {
  ARP_PACKET_BYTES,
  arpProbe,
  arpReply,
  buildArp,
  buildArpFrame,
  gratuitousArpReply,
  gratuitousArpRequest,
  isArpAnnouncement,
  isArpProbe,
  parseArp,
  parseArpFrame,
  type ArpFrame,
  type ArpOp,
  type ArpPacket,
} from './arp.ts';
export {
  arpFilter,
  arpFilterProgram,
  BPF_ACCEPT,
  decodeFilter,
  encodeFilter,
  ndpFilter,
  ndpFilterProgram,
  PACKET_OTHERHOST,
  PACKET_OUTGOING,
  SOCK_FILTER_BYTES,
  type FilterOptions,
  type SockFilter,
} from './bpf.ts';
export { checkClassicBpf, disassemble, runClassicBpf, type BpfPacketMeta } from './bpf-interp.ts';
export {
  BpfProgramError,
  FrameParseError,
  InvalidAddressError,
  type BpfProgramErrorCode,
  type FrameParseErrorCode,
} from './errors.ts';
export {
  buildEthernet,
  ETHERNET_HEADER_BYTES,
  ETHERNET_MIN_FRAME_BYTES,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  parseEthernet,
  type EthernetFrame,
  type EthernetHeader,
} from './ethernet.ts';
export { parseFrame, type ParsedFrame } from './frame.ts';
export {
  buildNdpMessage,
  icmpv6Checksum,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  parseNdpMessage,
  verifyIcmpv6Checksum,
  type NdpMessage,
  type NeighborAdvertisement,
  type NeighborSolicitation,
} from './icmpv6.ts';
export {
  buildIPv6,
  IPV6_HEADER_BYTES,
  NEXT_HEADER_ICMPV6,
  parseIPv6,
  type IPv6Header,
  type IPv6Packet,
} from './ipv6.ts';
export {
  buildNdpFrame,
  dadSolicitation,
  NDP_HOP_LIMIT,
  neighborAdvertisement,
  neighborAdvertisementReply,
  neighborSolicitation,
  parseNdpFrame,
  unsolicitedNeighborAdvertisement,
  type NdpAddressing,
  type NdpFrame,
  type NeighborAdvertisementFrame,
  type NeighborAdvertisementInit,
  type NeighborSolicitationFrame,
} from './ndp.ts';
export { ndpViolation, type NdpViolation } from './ndp-checks.ts';
