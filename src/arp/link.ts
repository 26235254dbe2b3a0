import type { AnswerTable, PktType } from './packet-socket.ts';

/**
 * One interface as the responder uses it. The real one sends through packet
 * sockets (wire.ts); tests pass a recorder. `send` may throw (a link that just
 * went away): the responder counts it and carries on.
 */
export interface Link {
  readonly name: string;
  /** The interface MAC, `aa:bb:cc:dd:ee:ff`. Answers carry it. */
  readonly mac: string;
  send(frame: Uint8Array): void;
  /** Joins a link-layer multicast group (solicited-node groups for IPv6 VIPs). */
  join(mac: string): void;
  leave(mac: string): void;
  /**
   * What the link may answer on its own, before the frame reaches the
   * responder (wire.ts: the packet sockets' threads). The responder keeps it a
   * subset of what it answers itself, and skips the frames marked answered.
   * A link without it leaves every answer to the responder.
   */
  answer?(tables: LinkAnswers): void;
}

/** The tables of Link.answer, per family. */
export interface LinkAnswers {
  readonly v4: AnswerTable;
  readonly v6: AnswerTable;
}

/** A frame received on a link, with how the kernel classified its destination. */
export interface Received {
  readonly data: Uint8Array;
  readonly pktType: PktType;
  /** The link answered it already (Link.answer). */
  readonly answered?: boolean;
}
