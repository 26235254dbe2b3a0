// The controller process's core: assigns IPs from pools to LoadBalancer
// Services and writes their status; never decides who announces.
export { Controller, type ControllerInit, type ControllerStats, type WriteCounts } from './controller.ts';
export { PAUSED_CONDITION, StatusWriter, type StatusIntent, type WriteResult } from './status.ts';
