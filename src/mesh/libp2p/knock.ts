/**
 * Telling a crashed member from a busy one, from the TCP side: a refusal.
 *
 * When a member's last connection closes, the transport knocks: a bare TCP
 * connect to its mesh port. Refused means its host is up and nothing listens
 * there (the process is gone), and is reported at once, not after libp2p's
 * dial for the next check, which goes through its dial queue and peer store
 * (5–50 ms on a loaded node in the chaos lab, against well under a
 * millisecond for a connect). An accepted connection is reset at once; the
 * member's libp2p sees one inbound upgrade fail.
 *
 * A killed process's kernel accepts for a while: it frees the process's
 * memory before it closes its sockets (20–100 ms for a speaker here), and
 * they close in reverse order of their descriptors (the kernel's deferred
 * fput runs LIFO), so a knock in that window is accepted, waits in the
 * listener's queue (nothing will accept it), and is reset when the listener
 * closes. A knock may be held (`holdMs`): it reports 'up' at once, and if the
 * connection is reset while held, `onReset` says the process is gone as
 * surely as a refusal would, the moment its listener closes. A stopped
 * (SIGSTOP) process resets nothing, nor does a live one within the hold
 * (libp2p waits seconds for an inbound handshake).
 */
import { connect } from 'node:net';
import type { HostAnswer } from '../watch.ts';

/** A knock that neither connects nor is refused within this is abandoned: the checks' own timeouts cover a silent host. */
const KNOCK_TIMEOUT_MS = 1_000;

export interface TcpAddress {
  host: string;
  port: number;
}

/**
 * Whether a dial failed because the host refused the connection (ECONNREFUSED
 * anywhere in the error, its cause or, for several addresses, its errors).
 * Timeouts, EHOSTUNREACH after a failed neighbour resolution (a partition or
 * a cut link leaves those behind for seconds) and aborted dials are not.
 */
export function refused(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (e.code === 'ECONNREFUSED') return true;
  if (refused(e.cause, depth + 1)) return true;
  return Array.isArray(e.errors) && e.errors.some((x) => refused(x, depth + 1));
}

/** The first TCP listen address in an endpoint's multiaddrs (/ip4/…/tcp/… or /ip6/…/tcp/…). */
export function tcpAddressOf(addrs: readonly string[]): TcpAddress | undefined {
  for (const a of addrs) {
    const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)(\/|$)/.exec(a);
    if (m !== null) return { host: m[1] as string, port: Number(m[2]) };
  }
  return undefined;
}

/** What a knock found: nothing listens (the process is gone), the host's kernel accepted it, or no answer. */
export type KnockOutcome = HostAnswer;

export interface KnockOptions {
  /** No connect and no refusal within this: 'none' (default KNOCK_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Keep an accepted connection this long (ms), then reset it (default 0: at once). */
  holdMs?: number;
  /** The held connection was reset by the peer: its listener closed (the process is gone). */
  onReset?: () => void;
}

/** Knocks on `at`; `done` once, with what it found within `timeoutMs`. */
export function knock(at: TcpAddress, done: (outcome: KnockOutcome) => void, opts: KnockOptions = {}): void {
  const timeoutMs = opts.timeoutMs ?? KNOCK_TIMEOUT_MS;
  const holdMs = opts.holdMs ?? 0;
  let settled = false;
  const end = (outcome: KnockOutcome): void => {
    if (settled) return;
    settled = true;
    done(outcome);
  };
  const socket = connect({ host: at.host, port: at.port });
  socket.setTimeout(timeoutMs, () => {
    // Timers run before I/O in a turn of the loop: on a busy loop an answer
    // that came in time may still be waiting; let it be read first.
    setImmediate(() => {
      if (settled) return;
      socket.destroy();
      end('none');
    });
  });
  let held: ReturnType<typeof setTimeout> | undefined;
  socket.once('connect', () => {
    if (holdMs <= 0) socket.resetAndDestroy();
    else {
      socket.setTimeout(0);
      held = setTimeout(() => {
        held = undefined;
        socket.resetAndDestroy();
      }, holdMs);
    }
    end('up');
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (held !== undefined && err.code === 'ECONNRESET') {
      clearTimeout(held);
      held = undefined;
      opts.onReset?.();
      return;
    }
    end(err.code === 'ECONNREFUSED' ? 'refused' : 'none');
  });
  socket.once('close', () => {
    end('none');
  });
}
