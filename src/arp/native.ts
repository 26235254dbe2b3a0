/**
 * Loading the packet-socket addon (native/packet_socket.c, docs/wire.md) and
 * its types. Loaded on first use, so importing src/arp costs nothing where no
 * socket is opened (and works where the addon is not built).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeAddonMissingError } from './errors.ts';

/** Where the addon lies, relative to the package root. */
export const ADDON_PATH = 'native/build/Release/meshlb_packet.node';

/** An open socket of the addon: an opaque handle, only passed back to it. */
export interface NativeHandle {
  readonly __meshlbNativeHandle: unique symbol;
}

/** A frame as the addon delivers it; pktType is sll_pkttype. */
export interface NativeFrame {
  data: Buffer;
  pktType: number;
  /** Threaded receive only: the addon's thread answered it (native/packet_thread.c). */
  answered?: boolean;
}

/** An Error from the addon: `code` is the errno name, `syscall` the call that failed. */
export interface NativeError extends Error {
  code?: string;
  syscall?: string;
}

/** The addon's exports. */
export interface NativeAddon {
  interfaceInfo(name: string): { index: number; mac: Buffer; mtu: number; flags: number };
  /** An AF_PACKET SOCK_RAW socket bound to ifindex and ethertype, filter attached before bind. */
  openPacket(ifindex: number, ethertype: number, filter: Uint8Array | null): NativeHandle;
  /** A NETLINK_ROUTE socket subscribed to these multicast groups. */
  openNetlink(groups: number): NativeHandle;
  /**
   * Starts delivery: a packet socket delivers NativeFrame[], a netlink socket
   * Buffer[] (datagrams from the kernel). `threaded` (packet sockets): a
   * thread of the addon reads the socket and answers what answer() set.
   */
  start(
    h: NativeHandle,
    onData: ((frames: NativeFrame[]) => void) | ((datagrams: Buffer[]) => void),
    onError: (err: NativeError) => void,
    batch: number,
    threaded?: boolean,
  ): void;
  /**
   * The table a threaded ARP (4-byte addresses) or IPv6 (16-byte) socket
   * answers from: `answer` the addresses answered, `known` every announced one
   * (a request from one of them is left to JavaScript), each concatenated.
   */
  answer(h: NativeHandle, mac: Uint8Array, answer: Uint8Array, known: Uint8Array): void;
  /** What the thread would send for `frame` (native/answer.c), or null; for tests. */
  answerFrame(
    frame: Uint8Array,
    pktType: number,
    mac: Uint8Array,
    width: 4 | 16,
    answer: Uint8Array,
    known: Uint8Array,
  ): Buffer | null;
  send(h: NativeHandle, bytes: Uint8Array): number;
  membership(h: NativeHandle, add: boolean, mac: Uint8Array): void;
  /** Counts since the previous call; packets include drops. */
  stats(h: NativeHandle): { packets: number; drops: number };
  close(h: NativeHandle): void;
  /** The pulse (native/pulse.c): a thread that sends and watches heartbeats on a UDP socket. */
  openPulse(
    opts: { address: string; port: number; id: Uint8Array; intervalMs: number; leaseMs: number },
    onEvent: (kind: 'heard' | 'silent', id: string, agoMs: number) => void,
  ): NativePulseHandle;
  /** The members whose subscriptions it accepts (and pulses), with their pair keys. */
  pulsePeers(h: NativePulseHandle, peers: readonly { id: Uint8Array; key: Uint8Array }[]): void;
  /** The announcers to watch; with an address, it subscribes to their pulses. */
  pulseWatch(h: NativePulseHandle, watched: readonly PulseWatched[]): void;
  pulseRenew(h: NativePulseHandle): void;
  /** ms since the last frame accepted from `id`; −1: none. */
  pulseHeard(h: NativePulseHandle, id: Uint8Array): number;
  pulsePort(h: NativePulseHandle): number;
  pulseStats(h: NativePulseHandle): PulseStats;
  pulseClose(h: NativePulseHandle): void;
}

/** An announcer a pulse watches. */
export interface PulseWatched {
  id: Uint8Array;
  key: Uint8Array;
  silenceMs: number;
  /** Where to subscribe (its pulse's address and port); none: it is not asked to pulse. */
  address?: string;
  port?: number;
}

/** An open pulse of the addon. */
export interface NativePulseHandle {
  readonly __meshlbNativePulse: unique symbol;
}

/** The pulse's counts since it opened (datagrams). */
export interface PulseStats {
  sent: number;
  sendErrors: number;
  received: number;
  /** From a watched sender, tagged with its key, newer than the last. */
  accepted: number;
  /** Not a 28-byte pulse frame. */
  malformed: number;
  /** A watched sender's id, a wrong tag (forged, or another mesh's key). */
  badTag: number;
  /** Not newer than the last accepted (replayed or reordered). */
  replayed: number;
  /** From a sender not watched (a pulse) or not a peer (a subscription). */
  unknown: number;
  /** Subscriptions accepted. */
  subscriptions: number;
  /** Members pulsed now (subscribed within the last 3.5 s). */
  subscribers: number;
  /** Subscriptions refused: 256 subscribers already. */
  full: number;
}

/** The nearest directory at or above `from` holding a package.json: the checkout (src/arp/) or dist/'s parent (dist/src/arp/). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

let addon: NativeAddon | undefined;

/** The addon, loaded once; throws NativeAddonMissingError when it cannot be loaded. */
export function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  const path = join(packageRoot(), ADDON_PATH);
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new NativeAddonMissingError(path, err);
  }
  return addon;
}

/** The errno name of an addon error, or undefined for anything else (argument errors, bugs). */
export function errnoCode(err: unknown): { code: string; syscall: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, syscall } = err as NativeError;
  if (typeof code !== 'string' || typeof syscall !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return undefined;
  return { code, syscall };
}
