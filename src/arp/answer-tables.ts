/**
 * What each link may answer on its own (Link.answer; wire.ts hands it to the
 * packet sockets' threads, native/answer.c): per family, the IPs answered on
 * that link now (answering, not probing, the link up and not held) and every IP
 * announced anywhere (a request from one of those is unusual: the responder
 * looks at it). It is always a subset of what the responder answers itself,
 * so a table that lags only leaves a few more answers to the responder: what
 * is taken away (a withdrawal, a link down or held) is pushed at once, what is added
 * in a microtask, so a thousand announce() calls push once.
 */
import { live, type AnnouncedIps, type LinkState } from './announced.ts';
import * as codec from './codec/index.ts';
import type { LinkIo } from './link-io.ts';
import type { LinkAnswers } from './link.ts';

export class AnswerTables {
  readonly #ips: AnnouncedIps;
  readonly #links: ReadonlyMap<string, LinkState>;
  readonly #io: LinkIo;
  /** What each link has now, as hex (pushed again only when it changes). */
  readonly #pushed = new Map<string, string>();
  #scheduled = false;

  constructor(ips: AnnouncedIps, links: ReadonlyMap<string, LinkState>, io: LinkIo) {
    this.#ips = ips;
    this.#links = links;
    this.#io = io;
  }

  /** Something may now be answered (an IP answering, a link released): pushed in a microtask. */
  grew(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.sync();
    });
  }

  /** Something must no longer be answered (an IP withdrawn, a link held): pushed before this returns. */
  shrank(): void {
    this.sync();
  }

  /** The link is gone (its sockets with it). */
  forget(ifname: string): void {
    this.#pushed.delete(ifname);
  }

  /** Pushes every link's tables that changed. */
  sync(): void {
    const known4: Uint8Array[] = [];
    const known6: Uint8Array[] = [];
    for (const a of this.#ips.values()) (a.v4 ? known4 : known6).push(bytesOf(a));
    const known = { v4: Buffer.concat(known4), v6: Buffer.concat(known6) };
    for (const [ifname, ls] of this.#links) {
      const v4: Uint8Array[] = [];
      const v6: Uint8Array[] = [];
      if (live(ls))
        for (const a of this.#ips.values())
          if (a.on.get(ifname)?.since !== undefined) (a.v4 ? v4 : v6).push(bytesOf(a));
      const answer = { v4: Buffer.concat(v4), v6: Buffer.concat(v6) };
      const key = [answer.v4, known.v4, answer.v6, known.v6].map((b) => b.toString('hex')).join('/');
      if (this.#pushed.get(ifname) === key) continue;
      this.#pushed.set(ifname, key);
      const tables: LinkAnswers = {
        v4: { answer: answer.v4, known: known.v4 },
        v6: { answer: answer.v6, known: known.v6 },
      };
      this.#io.answer(ls, tables);
    }
  }
}

function bytesOf(a: { ip: string; v4: boolean; bytes?: Uint8Array }): Uint8Array {
  if (a.v4) return codec.ipv4ToBytes(a.ip);
  return (a.bytes ??= codec.ipv6ToBytes(a.ip));
}
