export { BALANCE_SLACK, loadCap } from './balance.ts';
export { claimWins, mergeClaim } from './claims.ts';
export {
  candidates,
  decide,
  explain,
  loadBound,
  type Candidate,
  type Cause,
  type Decision,
  type Explanation,
} from './decide.ts';
export {
  advertisementsOf,
  eligibility,
  EXCLUDE_LABEL,
  type Eligibility,
  type Purpose,
} from './eligibility.ts';
export { rankNodes, rendezvousScore } from './rank.ts';
export { REASONS, type Reason } from './reasons.ts';
export { matchesSelector } from './selector.ts';
export type { Advertisement, Claim, LabelSelector, NodeView, ServiceIp, World } from './types.ts';
export { ISOLATION_DEFAULTS, IsolationGuard, type IsolationConfig, type Reachability } from './isolation.ts';
