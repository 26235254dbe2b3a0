/**
 * Link and address changes as the kernel reports them, over a NETLINK_ROUTE
 * socket of the packet-socket addon: no timer rescans. On start (and after the
 * socket overflowed and events may have been lost) the whole state is dumped
 * first, links then addresses, so events describe every link and address,
 * not only later changes.
 */
import { constants } from 'node:os';
import { NetlinkParseError, NetlinkSocketError } from './errors.ts';
import { errnoCode, loadAddon, type NativeAddon, type NativeError, type NativeHandle } from './native.ts';
import {
  encodeDumpRequest,
  NLM_F_DUMP_INTR,
  parseNetlink,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
  type AddressEvent,
  type DumpKind,
  type LinkEvent,
  type NetlinkMessage,
} from './netlink.ts';

export type LinkMonitorEvent = LinkEvent | AddressEvent;

export interface LinkMonitorOptions {
  /** Every link state and address: those dumped at start and after an overflow, then each change. */
  onEvent: (event: LinkMonitorEvent) => void;
  /** A dump completed: every current link and address has been reported since start() (or the last overflow). */
  onSync?: () => void;
  /**
   * NetlinkSocketError (`ENOBUFS`: events were lost; a new dump is already
   * under way) or NetlinkParseError (the datagram was dropped). Without it
   * they are thrown, as from an EventEmitter without an 'error' listener.
   */
  onError?: (err: Error) => void;
  /** Datagrams read per wake-up at most (default 64). */
  batch?: number;
  /** The socket layer: the addon by default; tests pass a fake kernel. */
  native?: NetlinkNative;
}

/** What LinkMonitor uses of the addon. */
export type NetlinkNative = Pick<NativeAddon, 'openNetlink' | 'start' | 'send' | 'close'>;

const GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
/** Dumps redone in a row (interrupted by changes, or failed) before giving up until the next overflow. */
const MAX_DUMP_RETRIES = 10;

/** 'EBUSY' for 16, …; 'EINTR' style names from Node's table. */
function errnoName(errno: number): string {
  if (errno === 0) return 'EINTR';
  return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}

function socketError(err: unknown): Error {
  const e = errnoCode(err);
  if (e === undefined) return err instanceof Error ? err : new Error(String(err));
  return new NetlinkSocketError(`netlink route socket: ${(err as Error).message}`, e.code, e.syscall);
}

/** Watches the links and addresses of this network namespace; start() / stop(). */
export class LinkMonitor {
  readonly #opts: LinkMonitorOptions;
  #native: NetlinkNative | undefined;
  #handle: NativeHandle | undefined;
  /** The dump in progress, if any, and its sequence number. */
  #dumping: DumpKind | undefined;
  #dumpSeq = 0;
  #seq = 0;
  #interrupted = false;
  /** Events may have been lost during the current dump: dump again once it ends. */
  #again = false;
  #synced = false;
  #retries = 0;

  constructor(opts: LinkMonitorOptions) {
    this.#opts = opts;
    this.#native = opts.native;
  }

  #addon(): NetlinkNative {
    this.#native ??= loadAddon();
    return this.#native;
  }

  /** True once a complete dump has been reported (and no overflow since). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Opens the socket, subscribes to link and address changes, and dumps the current state. Throws NetlinkSocketError. */
  start(): void {
    if (this.#handle !== undefined) return;
    const native = this.#addon();
    let handle: NativeHandle;
    try {
      handle = native.openNetlink(GROUPS);
    } catch (err) {
      throw socketError(err);
    }
    try {
      native.start(
        handle,
        (datagrams: Buffer[]) => {
          this.#receive(datagrams);
        },
        (err) => {
          this.#failed(err);
        },
        this.#opts.batch ?? 64,
      );
    } catch (err) {
      native.close(handle);
      throw socketError(err);
    }
    this.#handle = handle;
    this.#dump('links');
  }

  /** Closes the socket: no event is reported after stop() returns. Idempotent. */
  stop(): void {
    if (this.#handle === undefined) return;
    this.#addon().close(this.#handle);
    this.#handle = undefined;
    this.#dumping = undefined;
    this.#synced = false;
  }

  #error(err: Error): void {
    if (this.#opts.onError === undefined) throw err;
    this.#opts.onError(err);
  }

  #dump(what: DumpKind): void {
    if (this.#handle === undefined) return;
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    this.#dumping = what;
    this.#dumpSeq = this.#seq;
    if (what === 'links') this.#interrupted = false;
    try {
      this.#addon().send(this.#handle, encodeDumpRequest(what, this.#seq));
    } catch (err) {
      this.#dumping = undefined;
      this.#again = true; // the next overflow or error retries
      this.#error(socketError(err));
    }
  }

  #failed(err: NativeError): void {
    const mapped = socketError(err);
    if (mapped instanceof NetlinkSocketError && mapped.code === 'ENOBUFS') {
      // The receive queue overflowed: changes were lost. Dump everything again.
      this.#synced = false;
      if (this.#dumping === undefined) this.#dump('links');
      else this.#again = true;
    }
    this.#error(mapped);
  }

  #receive(datagrams: Buffer[]): void {
    for (const d of datagrams) {
      let messages: NetlinkMessage[];
      try {
        messages = parseNetlink(d);
      } catch (err) {
        if (!(err instanceof NetlinkParseError)) throw err;
        this.#error(err);
        continue;
      }
      for (const m of messages) {
        this.#message(m);
        if (this.#handle === undefined) return; // stopped by a callback
      }
    }
  }

  #message({ header, body }: NetlinkMessage): void {
    const ours = this.#dumping !== undefined && header.seq === this.#dumpSeq;
    switch (body.kind) {
      case 'link':
      case 'address':
        if (ours && (header.flags & NLM_F_DUMP_INTR) !== 0) this.#interrupted = true;
        this.#opts.onEvent(body);
        return;
      case 'done':
        if (ours) this.#dumpDone(body.error);
        return;
      case 'error':
        if (ours && body.errno !== 0) this.#dumpDone(-body.errno);
        return;
      case 'other':
        return;
    }
  }

  /** The dump in progress ended (error: 0 or a negative errno). */
  #dumpDone(error: number): void {
    const what = this.#dumping;
    this.#dumping = undefined;
    if (error !== 0 || this.#interrupted || this.#again) {
      // Failed, inconsistent (the state changed under it) or events were lost: again, from the links.
      this.#again = false;
      if (++this.#retries > MAX_DUMP_RETRIES) {
        this.#retries = 0;
        const code = errnoName(-error);
        this.#error(
          new NetlinkSocketError(
            `netlink dump of ${what ?? 'state'} failed ${MAX_DUMP_RETRIES} times in a row (last: ${error === 0 ? 'interrupted' : code}); ` +
              'the next overflow retries',
            code,
            'recvfrom',
          ),
        );
        return;
      }
      this.#dump('links');
      return;
    }
    if (what === 'links') {
      this.#dump('addresses');
      return;
    }
    this.#retries = 0;
    this.#synced = true;
    this.#opts.onSync?.();
  }
}
