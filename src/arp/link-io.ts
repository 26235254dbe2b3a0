/**
 * What the responder does to a link: send frames, join and leave multicast
 * groups (reference-counted per link). A link may throw (one that just went
 * away): the failure is counted and reported, and the responder carries on.
 */
import type { LinkState } from './announced.ts';
import type { LinkAnswers } from './link.ts';
import type { WireEvent, WireStats } from './responder-types.ts';

export class LinkIo {
  readonly #stats: WireStats;
  readonly #onEvent: (e: WireEvent) => void;

  constructor(stats: WireStats, onEvent: (e: WireEvent) => void) {
    this.#stats = stats;
    this.#onEvent = onEvent;
  }

  send(ls: LinkState, frame: Uint8Array): void {
    this.#try(ls, () => {
      ls.link.send(frame);
    });
  }

  /** Tells the link what it may answer on its own (Link.answer), if it can. */
  answer(ls: LinkState, tables: LinkAnswers): void {
    this.#try(ls, () => {
      ls.link.answer?.(tables);
    });
  }

  join(ls: LinkState, mac: string): void {
    const n = ls.groups.get(mac) ?? 0;
    ls.groups.set(mac, n + 1);
    if (n === 0)
      this.#try(ls, () => {
        ls.link.join(mac);
      });
  }

  leave(ls: LinkState, mac: string): void {
    const n = ls.groups.get(mac) ?? 0;
    if (n > 1) ls.groups.set(mac, n - 1);
    else {
      ls.groups.delete(mac);
      this.#try(ls, () => {
        ls.link.leave(mac);
      });
    }
  }

  /** Leaves every group joined on a link that goes away. */
  leaveAll(ls: LinkState): void {
    for (const mac of ls.groups.keys())
      this.#try(ls, () => {
        ls.link.leave(mac);
      });
  }

  #try(ls: LinkState, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#stats.sendErrors++;
      this.#onEvent({ type: 'send-failed', ifname: ls.link.name, error: e as Error });
    }
  }
}
