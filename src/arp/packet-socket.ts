/**
 * Ethernet frames in and out of one interface: the TypeScript face of the
 * packet-socket addon (AF_PACKET, docs/wire.md). Needs CAP_NET_RAW.
 *
 * @example
 * ```ts
 * const sock = PacketSocket.open({
 *   ifname: 'eth0',
 *   ethertype: 0x0806, // ARP
 *   filter: arpFilter(), // from ./codec
 *   onFrames: (frames) => { for (const f of frames) handle(f.data, f.pktType); },
 *   onError: (err) => log.warn({ err }, 'arp socket'),
 * });
 * sock.send(reply);
 * sock.close();
 * ```
 */
import { InterfaceNotFoundError, PacketSocketError, PacketSocketPermissionError } from './errors.ts';
import { errnoCode, loadAddon, type NativeError, type NativeFrame, type NativeHandle } from './native.ts';

/**
 * Who a received frame was for (sll_pkttype): us, everyone, a group we are
 * in, someone else (seen only in promiscuous mode), or sent by this host
 * (seen only by ETH_P_ALL sockets). `loopback`: a multicast frame of ours looped back.
 */
export type PktType = 'host' | 'broadcast' | 'multicast' | 'otherhost' | 'outgoing' | 'loopback';

/** PACKET_HOST … PACKET_LOOPBACK, by value. */
const PKT_TYPES: readonly PktType[] = ['host', 'broadcast', 'multicast', 'otherhost', 'outgoing', 'loopback'];

/** One received Ethernet frame, from the destination MAC on (no FCS). */
export interface Frame {
  readonly data: Buffer;
  readonly pktType: PktType;
  /** The socket's own thread answered it already (PacketSocketOptions.answerInThread). */
  readonly answered: boolean;
}

/**
 * What a socket with answerInThread answers on its own: `answer` the
 * addresses answered now (4 bytes each on an ARP socket, 16 on an IPv6 one,
 * concatenated), `known` every address announced anywhere (a request from one
 * of them is left to JavaScript). See native/answer.h.
 */
export interface AnswerTable {
  readonly answer: Uint8Array;
  readonly known: Uint8Array;
}

export interface InterfaceInfo {
  index: number;
  /** The link-layer address, lower case, colon-separated. */
  mac: string;
  mtu: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_RUNNING: operationally up (carrier). */
  running: boolean;
}

/** EtherType that receives every frame, this host's outgoing ones included (pktType 'outgoing'). */
export const ETH_P_ALL = 0x0003;
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFNAMSIZ = 16;
const DEFAULT_BATCH = 64;
const MAX_BATCH = 1024;

/** "aa:bb:cc:dd:ee:ff" from 6 bytes. */
function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** 6 bytes from "aa:bb:cc:dd:ee:ff" (either case); RangeError otherwise. */
function parseMac(mac: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new RangeError(`not a MAC address: ${mac}`);
  return Buffer.from(mac.replaceAll(':', ''), 'hex');
}

/** Maps an addon error to this module's named errors; other errors (arguments, bugs) pass through. */
function mapError(err: unknown, ifname: string): Error {
  const e = errnoCode(err);
  if (e === undefined) return err instanceof Error ? err : new Error(String(err));
  switch (e.code) {
    case 'EPERM':
    case 'EACCES':
      return new PacketSocketPermissionError(ifname, e.code, e.syscall);
    case 'ENODEV':
    case 'ENXIO':
      return new InterfaceNotFoundError(ifname);
    default:
      return new PacketSocketError(`${ifname}: ${(err as Error).message}`, e.code, e.syscall);
  }
}

function validIfname(ifname: string): boolean {
  return ifname.length > 0 && Buffer.byteLength(ifname) < IFNAMSIZ && !ifname.includes('\0');
}

/** The index, MAC, MTU and state of an interface in this network namespace (ioctl; no privilege needed). */
export function interfaceInfo(ifname: string): InterfaceInfo {
  if (!validIfname(ifname)) throw new InterfaceNotFoundError(ifname);
  let raw: ReturnType<ReturnType<typeof loadAddon>['interfaceInfo']>;
  try {
    raw = loadAddon().interfaceInfo(ifname);
  } catch (err) {
    throw mapError(err, ifname);
  }
  return {
    index: raw.index,
    mac: formatMac(raw.mac),
    mtu: raw.mtu,
    up: (raw.flags & IFF_UP) !== 0,
    running: (raw.flags & IFF_RUNNING) !== 0,
  };
}

export interface PacketSocketOptions {
  /** The interface to bind to, in this process's network namespace. */
  ifname: string;
  /** The EtherType to receive: 0x0806 (ARP), 0x86dd (IPv6), or ETH_P_ALL. */
  ethertype: number;
  /** A classic BPF program (codec's encodeFilter: struct sock_filter[], host byte order), attached before any frame can be queued. */
  filter?: Uint8Array;
  /** Called with every batch of frames read at one wake-up, in arrival order. */
  onFrames: (frames: Frame[]) => void;
  /**
   * Called on a receive error (PacketSocketError): `ENETDOWN` when the
   * interface was set down or removed (frames resume when it is up again,
   * unless it was removed), `ENOBUFS`. Without it such errors are thrown, as
   * from an EventEmitter without an 'error' listener.
   */
  onError?: (err: Error) => void;
  /** Frames read per wake-up at most (default 64); more wait for the next turn of the event loop. */
  batch?: number;
  /**
   * A thread of the addon reads the socket instead of the event loop and
   * answers the plain ARP requests and neighbour solicitations that answer()
   * covers at once, with this interface's MAC: the reply does not wait for
   * the event loop. onFrames still gets every frame (`answered` set on those).
   */
  answerInThread?: boolean;
}

/**
 * An AF_PACKET raw socket bound to one interface and EtherType. Frames are
 * delivered from the moment open() returns until close(); an open socket keeps
 * itself (and the event loop) alive, like a listening server.
 */
export class PacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  /** The interface's MAC when the socket was opened. */
  readonly mac: string;
  readonly ethertype: number;
  readonly #handle: NativeHandle;
  #closed = false;
  #received = 0;
  #dropped = 0;

  private constructor(ifname: string, info: InterfaceInfo, ethertype: number, handle: NativeHandle) {
    this.ifname = ifname;
    this.ifindex = info.index;
    this.mac = info.mac;
    this.ethertype = ethertype;
    this.#handle = handle;
  }

  /**
   * Opens and binds the socket and starts delivery. Throws
   * PacketSocketPermissionError without CAP_NET_RAW, InterfaceNotFoundError,
   * PacketSocketError, or NativeAddonMissingError.
   */
  static open(opts: PacketSocketOptions): PacketSocket {
    const { ifname, ethertype, onFrames, onError } = opts;
    const batch = opts.batch ?? DEFAULT_BATCH;
    if (!(Number.isInteger(ethertype) && ethertype > 0 && ethertype <= 0xffff))
      throw new RangeError(`ethertype must be 1…0xffff, got ${ethertype}`);
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= MAX_BATCH))
      throw new RangeError(`batch must be 1…${MAX_BATCH}, got ${batch}`);
    if (opts.filter !== undefined && (opts.filter.length === 0 || opts.filter.length % 8 !== 0))
      throw new RangeError(
        `a filter is a whole number of 8-byte instructions, got ${opts.filter.length} bytes`,
      );
    const info = interfaceInfo(ifname);
    const native = loadAddon();
    let handle: NativeHandle;
    try {
      handle = native.openPacket(info.index, ethertype, opts.filter ?? null);
    } catch (err) {
      throw mapError(err, ifname);
    }
    const sock = new PacketSocket(ifname, info, ethertype, handle);
    const deliver = (raw: NativeFrame[]): void => {
      onFrames(
        raw.map((f) => ({
          data: f.data,
          pktType: PKT_TYPES[f.pktType] ?? 'otherhost',
          answered: f.answered === true,
        })),
      );
    };
    const fail = (err: NativeError): void => {
      const mapped = mapError(err, ifname);
      if (onError === undefined) throw mapped;
      onError(mapped);
    };
    try {
      native.start(handle, deliver, fail, batch, opts.answerInThread === true);
    } catch (err) {
      native.close(handle);
      throw mapError(err, ifname);
    }
    return sock;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one whole Ethernet frame (destination MAC first, no FCS) out of the interface. */
  send(frame: Uint8Array): void {
    this.#call('sendto', () => loadAddon().send(this.#handle, frame));
  }

  /** Replaces what the socket's thread answers (answerInThread sockets only; EOPNOTSUPP otherwise). */
  answer(table: AnswerTable): void {
    const mac = parseMac(this.mac);
    this.#call('answer', () => {
      loadAddon().answer(this.#handle, mac, table.answer, table.known);
    });
  }

  /** Receives frames sent to this link-layer multicast group (e.g. 33:33:ff:xx:xx:xx for a solicited-node address). */
  join(mac: string): void {
    const bytes = parseMac(mac);
    this.#call('setsockopt', () => {
      loadAddon().membership(this.#handle, true, bytes);
    });
  }

  /** Leaves a group joined with join() (joins are counted: as many leaves as joins). */
  leave(mac: string): void {
    const bytes = parseMac(mac);
    this.#call('setsockopt', () => {
      loadAddon().membership(this.#handle, false, bytes);
    });
  }

  /** Frames the filter accepted since open (dropped ones included), and those dropped because the receive queue was full. */
  stats(): { received: number; dropped: number } {
    if (!this.#closed) {
      const s = this.#call('getsockopt', () => loadAddon().stats(this.#handle));
      this.#received += s.packets;
      this.#dropped += s.drops;
    }
    return { received: this.#received, dropped: this.#dropped };
  }

  /** Stops delivery at once (no frame is delivered after close returns) and releases the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    try {
      this.stats(); // keep the last counts: reading them needs the socket
    } catch {
      // counts are best effort; closing must not fail
    }
    this.#closed = true;
    loadAddon().close(this.#handle);
  }

  #call<T>(syscall: string, fn: () => T): T {
    if (this.#closed)
      throw new PacketSocketError(`${this.ifname}: the packet socket is closed`, 'EBADF', syscall);
    try {
      return fn();
    } catch (err) {
      throw mapError(err, this.ifname);
    }
  }
}
