import type { Cause, Claim, Decision } from '../election/index.ts';

/** An IP this speaker answers for. */
export interface Held {
  readonly ip: string;
  /** Interfaces it answers on; empty: every interface the speaker has. */
  readonly interfaces: readonly string[];
  readonly epoch: number;
  /** When it started answering (wall clock, for the ServiceAnnouncement's `since`). */
  readonly since: Date;
}

export interface Announce {
  ip: string;
  interfaces: readonly string[];
  /** RFC 5227 probe first: only for an IP nobody announced before (`fresh`). */
  probe: boolean;
  claim: Claim;
  cause: Cause;
  /** The holder it moves away from (takeover, failback). */
  previous: string | undefined;
}

/** What the speaker does after one round of decisions. */
export interface Plan {
  /** IPs to start answering for. */
  announce: Announce[];
  /** Held IPs whose interfaces changed (an L2Advertisement edit). */
  retarget: { ip: string; interfaces: readonly string[]; epoch: number }[];
  /** Held IPs another node now announces, or nobody may. */
  withdraw: string[];
  /** Announcers this speaker is an heir of: it watches them closely (FastWatch). */
  watch: string[];
  /** The claims of every decision (the book merges them; its own changed ones are published). */
  claims: Claim[];
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The pure step between the election and the wire: compares this node's
 * decisions with what it holds. A speaker acts only on decisions naming
 * itself; every speaker reaches the same decisions from the same World.
 */
export function plan(self: string, decisions: readonly Decision[], held: ReadonlyMap<string, Held>): Plan {
  const out: Plan = { announce: [], retarget: [], withdraw: [], watch: [], claims: [] };
  const watch = new Set<string>();
  const decided = new Set<string>();
  for (const d of decisions) {
    decided.add(d.ip);
    if (d.claim !== undefined) out.claims.push(d.claim);
    if (d.announcer !== undefined && d.announcer !== self && d.heirs.includes(self)) watch.add(d.announcer);
    const h = held.get(d.ip);
    if (d.announcer === self && d.claim !== undefined) {
      const interfaces = [...d.interfaces].sort();
      if (h === undefined)
        out.announce.push({
          ip: d.ip,
          interfaces,
          probe: d.cause === 'fresh',
          claim: d.claim,
          cause: d.cause,
          previous: d.previous,
        });
      else if (!sameList(h.interfaces, interfaces) || h.epoch !== d.claim.epoch)
        out.retarget.push({ ip: d.ip, interfaces, epoch: d.claim.epoch });
    }
    // A rebalance away from this node is make-before-break: it answers until the
    // taker's claim arrives (the decision is then the taker's, kept) and withdraws then.
    else if (h !== undefined && !(d.cause === 'rebalance' && d.previous === self)) out.withdraw.push(d.ip);
  }
  // Held IPs no Service has any more.
  for (const ip of held.keys()) if (!decided.has(ip)) out.withdraw.push(ip);
  out.watch = [...watch].sort();
  return out;
}
