import type { MemberState } from './messages.ts';

/** How a member learnt what an event reports. */
export type Via = 'probe' | 'gossip' | 'piggyback' | 'push-pull' | 'local';

/**
 * A membership change seen by this member, with its evidence. `at` is
 * monotonic clock time (for durations), `wallAt` wall-clock ms (for people).
 */
export interface MemberEvent {
  type: 'joined' | 'suspect' | 'alive' | 'dead' | 'left';
  node: string;
  incarnation: number;
  at: number;
  wallAt: number;
  evidence: {
    via: Via;
    /** Who said it (the accuser for suspect/dead, the member itself for alive/left). */
    from: string;
    /** For dead verdicts reached here: the accusers of the suspicion that expired. */
    accusers?: readonly string[];
    previous?: MemberState;
  };
}

export type MemberEventListener = (event: MemberEvent) => void;
