/**
 * The ARP answer path without the general codec: plain Ethernet/IPv4 ARP
 * requests are recognised and answered with byte operations only (no string
 * addresses, one allocation). It is the path almost every frame takes (an ARP
 * request for a VIP, or for an address that is not ours), and the answer is a
 * user-space wake-up away from the client: measured here, the general path
 * run cold between requests cost ~100 µs of the reply latency. Anything
 * unusual (our own IP as sender, a probe while probing, …) still goes through
 * the general path (answerer.ts), which also checks this one in tests.
 */

/** Offsets in an Ethernet II frame carrying ARP. */
const ETH_SRC = 6;
const ARP = 14;
const OP = ARP + 6;
const SENDER_MAC = ARP + 8;
const SENDER_IP = ARP + 14;
const TARGET_MAC = ARP + 18;
const TARGET_IP = ARP + 24;
const END = ARP + 28;
/** Frames are padded to the Ethernet minimum, as the codec's builders do. */
const MIN_FRAME = 60;

export interface ArpRequestKey {
  /** Sender and target IPv4 addresses as unsigned 32-bit numbers. */
  readonly sender: number;
  readonly target: number;
}

const ip32 = (b: Uint8Array, i: number): number =>
  (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;

/** An IPv4 address text as the unsigned 32-bit number ip32 gives for its bytes. */
export function ipv4Number(bytes: Uint8Array): number {
  return ip32(bytes, 0);
}

/**
 * The sender and target of a plain ARP request (untagged Ethernet II, htype 1,
 * ptype IPv4, op 1), or undefined for anything else, a gratuitous ARP (sender
 * = target) included.
 */
export function arpRequestKey(f: Uint8Array): ArpRequestKey | undefined {
  if (f.length < END) return undefined;
  // EtherType 0x0806, htype 1, ptype 0x0800, hlen 6, plen 4, op 1.
  if (f[12] !== 0x08 || f[13] !== 0x06 || f[14] !== 0 || f[15] !== 1 || f[16] !== 0x08 || f[17] !== 0)
    return undefined;
  if (f[18] !== 6 || f[19] !== 4 || f[OP] !== 0 || f[OP + 1] !== 1) return undefined;
  const sender = ip32(f, SENDER_IP);
  const target = ip32(f, TARGET_IP);
  return sender === target ? undefined : { sender, target };
}

/** True when the frame's Ethernet source is `mac` (6 bytes). */
export function fromMac(f: Uint8Array, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (f[ETH_SRC + i] !== mac[i]) return false;
  return true;
}

/**
 * The reply to request `f` (checked by arpRequestKey) from `mac`: to the
 * requester's MAC, sender = `mac` and the requested IP, target = the
 * requester. Byte for byte what codec.arpReply builds.
 */
export function arpReplyTo(f: Uint8Array, mac: Uint8Array): Buffer {
  const r = Buffer.alloc(MIN_FRAME);
  r.set(f.subarray(SENDER_MAC, SENDER_MAC + 6), 0); // Ethernet destination: the requester
  r.set(mac, ETH_SRC);
  r.set(f.subarray(12, OP), 12); // EtherType and the ARP header
  r[OP + 1] = 2;
  r.set(mac, SENDER_MAC);
  r.set(f.subarray(TARGET_IP, TARGET_IP + 4), SENDER_IP);
  r.set(f.subarray(SENDER_MAC, SENDER_MAC + 6), TARGET_MAC);
  r.set(f.subarray(SENDER_IP, SENDER_IP + 4), TARGET_IP);
  return r;
}
