/**
 * IP address text: IPv4 and IPv6 text <-> bytes <-> integers in canonical form
 * (address.ts), and IPPool address entries, CIDRs and ranges, as the API server
 * validates them (entry.ts). The one home of address parsing: the ARP/NDP codec, the
 * netlink parser, the Kubernetes API helpers and the allocator all use it.
 *
 *   parseIp('2001:DB8::1');              // { family: 6, value: 0x20010db8…1n }
 *   formatIp(4, 0xc0000201n);            // '192.0.2.1'
 *   parseAddressEntry('192.0.2.0/28');   // { family: 4, first: …, last: … }
 *   parseListenAddress('[::1]:7474');    // { host: '::1', port: 7474 } (listen.ts)
 */
export {
  canonicalIp,
  familyBits,
  formatIp,
  ipToBytes,
  ipToString,
  ipv4ToBytes,
  ipv4ToString,
  ipv6ToBytes,
  ipv6ToString,
  isV4Mapped,
  parseIp,
  type Family,
  type IpAddress,
} from './address.ts';
export { formatRange, parseAddressEntry, rangeSize, type AddressRange } from './entry.ts';
export { InvalidAddressError } from './errors.ts';
export { ListenAddressError, parseListenAddress, type ListenAddress } from './listen.ts';
