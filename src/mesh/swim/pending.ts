/**
 * What this member waits an answer for, by sequence number: its probes, the
 * pings it relays for others (ping-req), its reconnect pings to members
 * believed dead, and one-off checks. An ack settles the entry of its seq; a
 * second copy of an ack (probes and checks go both ways) is told apart from an
 * unknown one by remembering the last answered seqs.
 */
import type { Timer } from '../../clock/index.ts';

export interface PendingProbe {
  kind: 'probe';
  target: string;
  started: number;
  acked: boolean;
  nacks: number;
  timer?: Timer;
}

export interface PendingRelay {
  kind: 'relay';
  target: string;
  origin: string;
  originSeq: number;
  /** The ping-req came as a datagram (a check): relay and answer the same way. */
  urgent: boolean;
  timer: Timer;
}

export interface PendingReconnect {
  kind: 'reconnect';
  target: string;
  timer: Timer;
}

/** A one-off check (the heirs' close watch of an announcer): settles once, true on any ack. */
export interface PendingCheck {
  kind: 'check';
  target: string;
  phase: 'direct' | 'indirect' | 'settled';
  helpers: number;
  /** Helpers that nacked (a set: check traffic arrives twice, as a datagram and on the stream). */
  nacked: Set<string>;
  indirectTimeoutMs: number;
  /** The transport was refused by the target during this check. */
  refused: boolean;
  done: (ok: boolean, refused: boolean) => void;
  timer?: Timer;
}

export type Pending = PendingProbe | PendingRelay | PendingReconnect | PendingCheck;

/** Answered seqs remembered to tell a second copy of an ack from an unknown one (a few seconds of probes and checks). */
const MAX_ACKED = 1_024;

export class PendingTable {
  readonly #pending = new Map<number, Pending>();
  /** Seqs whose first ack arrived, oldest first (at most MAX_ACKED). */
  readonly #acked = new Set<number>();
  #seq = 0;

  nextSeq(): number {
    this.#seq = (this.#seq + 1) % Number.MAX_SAFE_INTEGER;
    return this.#seq;
  }

  set(seq: number, p: Pending): void {
    this.#pending.set(seq, p);
  }

  get(seq: number): Pending | undefined {
    return this.#pending.get(seq);
  }

  delete(seq: number): void {
    this.#pending.delete(seq);
  }

  /** Removes `p` under whatever seq it waits. */
  remove(p: Pending): void {
    for (const [seq, q] of this.#pending) if (q === p) this.#pending.delete(seq);
  }

  entries(): IterableIterator<[number, Pending]> {
    return this.#pending.entries();
  }

  values(): IterableIterator<Pending> {
    return this.#pending.values();
  }

  /**
   * The entry an ack answers, removed and its timer cancelled; or why there is
   * none: the second copy of an answer (`duplicate`), or late, replayed or
   * invented (`unknown-seq`).
   */
  answer(seq: number): Pending | 'duplicate' | 'unknown-seq' {
    const p = this.#pending.get(seq);
    if (p === undefined) return this.#acked.has(seq) ? 'duplicate' : 'unknown-seq';
    this.#pending.delete(seq);
    this.#acked.add(seq);
    if (this.#acked.size > MAX_ACKED) this.#acked.delete(this.#acked.values().next().value as number);
    p.timer?.cancel();
    return p;
  }

  /** A reconnect ping to `node` is waiting for its answer. */
  reconnecting(node: string): boolean {
    for (const p of this.#pending.values()) if (p.kind === 'reconnect' && p.target === node) return true;
    return false;
  }

  /** Cancels every entry's timer and forgets them all (stop()). */
  clear(): void {
    for (const p of this.#pending.values()) p.timer?.cancel();
    this.#pending.clear();
  }
}
