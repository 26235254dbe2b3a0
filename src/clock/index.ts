export type { Clock, Timer } from './clock.ts';
export { sleepOn } from './clock.ts';
export { SystemClock, systemClock } from './system-clock.ts';
export { VirtualClock, TimerLimitError } from './virtual-clock.ts';
export { OwnedTimers, startAll, stopAll, stopOnly, type Startable } from './lifecycle.ts';
