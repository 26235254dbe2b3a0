/**
 * The responder's vocabulary, shared with the wire adapter and the metrics:
 * its events, counters, options and settings (responder.ts has the logic).
 */
import type { Clock } from '../clock/index.ts';
import type * as codec from './codec/index.ts';
import type { WireConfig } from './config.ts';
import type { Conflict } from './conflicts.ts';

/** Why a received frame led to nothing. Counted by reason (bounded label set). */
export type DropReason =
  /** The kernel saw it addressed to another host (a bridge flooding a dead node's MAC). */
  | 'otherhost'
  /** Sent by us (our MAC, or looped back). */
  | 'own'
  /** Not a valid frame (the parser's error code is not kept as a label). */
  | 'malformed'
  /** An NS / NA that breaks an RFC 4861 §7.1 rule (hop limit not 255: it may come from off-link, …). */
  | codec.NdpViolation
  /** Valid, but about no IP we announce on that link. */
  | 'not-ours'
  /** For an IP we announce, on a link back up that is held until the speaker has checked its claims. */
  | 'held';

export type WireEvent =
  | { type: 'announcing'; ip: string; ifname: string; probed: boolean }
  | { type: 'withdrawn'; ip: string; ifname: string }
  | ({ type: 'conflict' } & Conflict)
  | { type: 'send-failed'; ifname: string; error: Error }
  /** A link was added, removed (up false), or its carrier / admin state changed. */
  | { type: 'link'; ifname: string; up: boolean }
  /** Another meshlb speaker (`node`) answers for an IP we announce: claims settling, not a conflict. */
  | { type: 'peer-answer'; ip: string; ifname: string; mac: string; node: string }
  /** The addresses on this node's interfaces changed (Wire.localAddresses). */
  | { type: 'addresses' };

export interface WireStats {
  /** ARP requests and neighbour solicitations received (all that passed the kernel filter, answered or not). */
  requests: { arp: number; ndp: number };
  /** ARP requests and neighbour solicitations answered. */
  answered: { arp: number; ndp: number };
  /** Gratuitous ARP requests and unsolicited NAs (bursts and refreshes). */
  announcements: { arp: number; ndp: number };
  /** Bursts of them started (an IP announced, or an interface back up). */
  bursts: { arp: number; ndp: number };
  probes: number;
  conflicts: number;
  /** Sightings of another speaker answering for one of our IPs (rate-limited like conflicts). */
  peerAnswers: number;
  sendErrors: number;
  dropped: Record<DropReason, number>;
}

export interface AnnounceOptions {
  /** Interfaces to answer on; undefined means every link the responder has. */
  interfaces?: readonly string[] | undefined;
  /**
   * Probe first (RFC 5227 / DAD) and answer only after probeWaitMs. For an IP
   * nobody announced before; takeovers never probe (speed comes first).
   */
  probe?: boolean;
}

export interface ResponderInit {
  clock: Clock;
  config?: Partial<WireConfig>;
  onEvent?: (e: WireEvent) => void;
  /** For refresh jitter (tests pass a seeded one). */
  random?: () => number;
  /**
   * The meshlb node whose speaker answers with `mac`, if one does (the speaker
   * knows its peers' MACs): its answers are a claim race settling, reported as
   * 'peer-answer', never as a conflict.
   */
  peerOf?: (mac: string) => string | undefined;
  /**
   * A link that comes back up is held (nothing answered, nothing sent on it)
   * until release(ifname). For a caller that must first learn whether it still
   * owns its IPs: while the link was down, other nodes took them over, and an
   * answer or a gratuitous burst from the returning node would pull clients
   * back to it (two MACs answering; the speaker's resync, speaker.ts). Without
   * it, a link back up gets a fresh burst at once.
   */
  holdOnLinkUp?: boolean;
}
