import type { MessageType } from './messages.ts';

/** Counters kept by the membership core; the metrics module reads them. */
export class MembershipStats {
  probes = 0;
  probesFailed = 0;
  indirectProbes = 0;
  suspicionsRaised = 0;
  suspicionsConfirmed = 0;
  refutations = 0;
  pushPulls = 0;
  /** Joins asked again because no push-pull reply came within reconnectIntervalMs. */
  joinRetries = 0;
  lagEvents = 0;
  /** Periodic ticks that threw (the loop went on). */
  loopErrors = 0;
  /** Sends the transport threw on (the message counted as lost). */
  sendErrors = 0;
  stale = 0;
  readonly messagesSent: Partial<Record<MessageType, number>> = {};
  readonly messagesReceived: Partial<Record<MessageType, number>> = {};
  readonly dropped: Record<string, number> = {};
  /** Recent probe round-trip times in ms (a ring of the last 256). */
  readonly rtts: number[] = [];
  #rttIndex = 0;
  readonly #rttObservers = new Set<(ms: number) => void>();

  sent(type: MessageType): void {
    this.messagesSent[type] = (this.messagesSent[type] ?? 0) + 1;
  }

  received(type: MessageType): void {
    this.messagesReceived[type] = (this.messagesReceived[type] ?? 0) + 1;
  }

  drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  observeRtt(ms: number): void {
    if (this.rtts.length < 256) this.rtts.push(ms);
    else this.rtts[this.#rttIndex++ % 256] = ms;
    for (const fn of this.#rttObservers) fn(ms);
  }

  /**
   * Calls `fn` with every probe round-trip time (ms) from now on, once each
   * (the metrics histogram); returns the function that stops it.
   */
  onRtt(fn: (ms: number) => void): () => void {
    this.#rttObservers.add(fn);
    return () => {
      this.#rttObservers.delete(fn);
    };
  }
}
