// The controller process's core: assigns IPs from pools to LoadBalancer
// Services and writes their status; never decides who announces.
export { Controller, type ControllerInit } from './controller.ts';
export type { ControllerStats, WriteCounts } from './stats.ts';
export { PAUSED_CONDITION, StatusWriter, type StatusIntent, type WriteResult } from './status.ts';
