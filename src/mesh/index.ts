// The mesh module's public surface: who is alive (SWIM + Lifeguard), and the
// heirs' close watch of announcers. Adapters: ./libp2p (real), ./sim (simulated).
export { decode, encode, encodedSize } from './codec.ts';
export {
  LAN_CONSERVATIVE,
  LAN_FAST,
  MeshConfigError,
  PROFILES,
  validateMeshConfig,
  WAN,
  type MeshConfig,
  type ProfileName,
} from './config.ts';
export { MeshCodecError, type MeshCodecErrorCode } from './errors.ts';
export type { MemberEvent, MemberEventListener, Via } from './events.ts';
export { Membership, type CheckOptions, type MemberView, type MembershipInit } from './membership.ts';
export type { Endpoint, MemberState, Message, Update } from './messages.ts';
export { StaticPeerAuthority, type MeshTransport, type PeerAuthority } from './transport.ts';
export { FastWatch, WATCH_DEFAULTS, type WatchConfig } from './watch.ts';
