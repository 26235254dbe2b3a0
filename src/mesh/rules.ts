import type { MemberState, Update } from './messages.ts';

/** What a member currently believes about another. */
export interface Known {
  state: MemberState;
  incarnation: number;
}

/**
 * SWIM precedence, as hashicorp/memberlist applies it:
 * - alive overrides anything only with a strictly higher incarnation (a
 *   member is the only one that raises its own incarnation, to refute);
 * - suspect overrides alive at an equal or higher incarnation, and an older
 *   suspicion only with a higher one (equal is a confirmation, see
 *   `isConfirmation`);
 * - dead overrides alive and suspect at an equal or higher incarnation;
 * - left (a graceful leave, said only by the member itself) overrides alive,
 *   suspect and dead at an equal or higher incarnation;
 * - nothing but a higher alive revives a dead or left member;
 * - suspicion and death of a member we have never heard of are ignored.
 */
export function supersedes(known: Known | undefined, u: Update): boolean {
  if (known === undefined) return u.kind === 'alive';
  switch (u.kind) {
    case 'alive':
      return u.incarnation > known.incarnation;
    case 'suspect':
      if (known.state === 'dead' || known.state === 'left') return false;
      return known.state === 'alive' ? u.incarnation >= known.incarnation : u.incarnation > known.incarnation;
    case 'dead':
      if (known.state === 'dead' || known.state === 'left') return false;
      return u.incarnation >= known.incarnation;
    case 'left':
      if (known.state === 'left') return false;
      return u.incarnation >= known.incarnation;
  }
}

/** A suspicion of a member already suspected at the same incarnation: another accuser confirms it. */
export function isConfirmation(known: Known | undefined, u: Update): boolean {
  return known?.state === 'suspect' && u.kind === 'suspect' && u.incarnation === known.incarnation;
}

/**
 * Whether an update is well-formed with respect to who may say it: only a
 * member itself says it is alive or that it left.
 */
export function originIsValid(u: Update): boolean {
  return (u.kind !== 'alive' && u.kind !== 'left') || u.from === u.node;
}
