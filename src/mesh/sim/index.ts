export { SimNetwork, type LinkModel, type SimMember, type SimOptions } from './network.ts';
export { MemberClock } from './member-clock.ts';
export { mulberry32 } from './prng.ts';
