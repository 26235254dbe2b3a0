// The mesh module's public surface: who is alive (SWIM + Lifeguard), the
// announcement claims it carries, and the heirs' close watch of announcers.
// Adapters: ./libp2p (real), ./sim (simulated).
export { ForeignClaimError, type ClaimStore, type SyncedEvent, type SyncedListener } from './claims.ts';
export {
  decode,
  encode,
  encodedSize,
  MAX_CLAIMS,
  MAX_FRAME_BYTES,
  MAX_GOSSIP_CLAIMS,
  MAX_IP_BYTES,
} from './codec.ts';
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
export type { Endpoint, MemberState, MeshClaim, Message, Update } from './messages.ts';
export { StaticPeerAuthority, type MeshTransport, type PeerAuthority } from './transport.ts';
export {
  PULSE_DEFAULTS,
  pulseIdOf,
  Pulses,
  validatePulseConfig,
  type PulseConfig,
  type PulseCounts,
  type PulseEvent,
  type PulseLink,
  type PulsePeers,
} from './pulse.ts';
export {
  FastWatch,
  WATCH_DEFAULTS,
  type HostAnswer,
  type HostProbe,
  type Verdict,
  type WatchConfig,
} from './watch.ts';
