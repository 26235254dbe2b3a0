export { NetnsSetupError, NetnsUnavailableError } from './errors.ts';
export { requireNetns } from './ip.ts';
export { createLan, Lan, VIP_RANGE_4, type Host, type LanOptions } from './lan.ts';
export {
  answeringHosts,
  arping,
  longestGap,
  lostEchoes,
  ndisc,
  pingEchoes,
  pingReplies,
  watchNeighbours,
  type EchoReply,
  type NeighbourMove,
  type Observation,
} from './observe.ts';
export { sweepStale } from './sweep.ts';
export { ApiAccess } from './api-access.ts';
export { httpGet } from './http.ts';
