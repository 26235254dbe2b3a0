// The speaker process's modules: settings (flags, environment, config file),
// the claim book (the mesh's ClaimStore), the pure plan between election and
// wire, and the Speaker adapter that wires mesh + cluster view + election +
// wire + ServiceAnnouncements into one reconcile loop (docs/speaker.md).
export { ClaimBook } from './claims.ts';
export { AUTO_EXCLUDE, autoInterfaces } from './interfaces.ts';
export { loadPeerKey, PEER_KEY_FILE, type PeerKeySource } from './peer-key.ts';
export { plan, type Announce, type Held, type Plan } from './plan.ts';
export {
  DEFAULT_HANDOFF_TIMEOUT_MS,
  DEFAULT_MESH_KEY_FILE,
  DEFAULT_MESH_PORT,
  DEFAULT_PULSE_PORT,
  DEFAULT_HEALTH_ADDR,
  DEFAULT_METRICS_ADDR,
  balanceSlackOf,
  MeshKeyError,
  readMeshKey,
  speakerSettings,
  type SpeakerSettings,
} from './settings.ts';
export { Speaker, type NotReady } from './speaker.ts';
export type { SpeakerInit } from './speaker-init.ts';
export type { SpeakerObserver } from './observer.ts';
