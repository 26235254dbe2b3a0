// The wire module's public surface: answering ARP and NDP for announced IPs
// from user space. The core (Responder) is pure: links and a Clock are
// injected. The adapter (Wire) runs it on packet sockets (the native addon)
// with a netlink monitor of the links. Frame codecs live in ./codec.
export { validateWireConfig, WIRE_DEFAULTS, WireConfigError, type WireConfig } from './config.ts';
export type { Conflict, ConflictEvidence } from './conflicts.ts';
export {
  InterfaceNotFoundError,
  NativeAddonMissingError,
  NetlinkParseError,
  NetlinkSocketError,
  PacketSocketError,
  PacketSocketPermissionError,
} from './errors.ts';
export { LinkMonitor, type LinkMonitorEvent, type LinkMonitorOptions } from './link-monitor.ts';
export type { Link, Received } from './link.ts';
export {
  interfaceInfo,
  PacketSocket,
  type Frame,
  type InterfaceInfo,
  type PktType,
} from './packet-socket.ts';
export { Responder } from './responder.ts';
export type { AnnounceOptions, DropReason, ResponderInit, WireEvent, WireStats } from './responder-types.ts';
export { Wire, type WireInit } from './wire.ts';
export {
  PulseSocket,
  PulseSocketError,
  type PulseSocketOptions,
  type PulseStats,
  type PulseWatched,
} from './pulse-socket.ts';
