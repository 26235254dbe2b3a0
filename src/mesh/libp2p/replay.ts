/**
 * Replay protection for the datagram path (issue 16, item 9). Each sealed
 * datagram carries its sender's epoch (the wall-clock ms its transport
 * started, so a restarted sender's epoch is higher, as its incarnation is)
 * and a counter that grows with every datagram it sends. A receiver keeps,
 * per sender node, the highest epoch and counter it accepted and which of
 * the last REPLAY_WINDOW counters it has seen: a datagram of an older epoch,
 * a counter seen before, or one older than the window is a replay and is
 * dropped. Without this, a host on the segment could replay a dead member's
 * captured pings and keep it looking alive to the heirs that watch it. Pure.
 */

/** Counters remembered behind the highest: ~1.7 s of a busy speaker's datagrams (600/s), far more than any reordering on a LAN. */
export const REPLAY_WINDOW = 1_024;

/** A datagram's place in its sender's sequence. */
export interface Stamp {
  epoch: number;
  counter: number;
}

export type ReplayVerdict = 'ok' | 'old-epoch' | 'too-old' | 'duplicate';

export class ReplayWindow {
  #epoch = -1;
  #highest = -1;
  readonly #seen = new Uint32Array(REPLAY_WINDOW / 32);

  /** Whether a datagram with this stamp is new; records it when it is. */
  accept(s: Stamp): ReplayVerdict {
    if (s.epoch < this.#epoch) return 'old-epoch';
    if (s.epoch > this.#epoch) {
      this.#epoch = s.epoch;
      this.#highest = -1;
      this.#seen.fill(0);
    }
    if (s.counter > this.#highest) {
      // Clear the slots the window moves over.
      const from = Math.max(this.#highest + 1, s.counter - REPLAY_WINDOW + 1);
      if (s.counter - from >= REPLAY_WINDOW) this.#seen.fill(0);
      else for (let c = from; c < s.counter; c++) this.#set(c, false);
      this.#highest = s.counter;
      this.#set(s.counter, true);
      return 'ok';
    }
    if (this.#highest - s.counter >= REPLAY_WINDOW) return 'too-old';
    if (this.#get(s.counter)) return 'duplicate';
    this.#set(s.counter, true);
    return 'ok';
  }

  #get(counter: number): boolean {
    const i = counter % REPLAY_WINDOW;
    return ((this.#seen[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  #set(counter: number, on: boolean): void {
    const i = counter % REPLAY_WINDOW;
    const word = this.#seen[i >>> 5] ?? 0;
    this.#seen[i >>> 5] = on ? word | (1 << (i & 31)) : word & ~(1 << (i & 31));
  }
}
