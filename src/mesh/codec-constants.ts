/**
 * The numbers of the mesh's frame format (codec.ts): the versions, the type
 * and state bytes, the extension tags, and every limit. Each limit is
 * enforced on encode (codec-size.ts) and on decode (codec-decode.ts).
 */
import type { MemberState, MessageType } from './messages.ts';

/** The frame version this release writes by default, and the highest it reads. */
export const CODEC_VERSION = 2;
/** The oldest frame version it reads and can write (for speakers of the previous format). */
export const MIN_CODEC_VERSION = 1;
export type CodecVersion = 1 | 2;

/** Extension tags of version 2 (per message type; records have none yet). */
export const EXT_PROTOCOL = 1;
/**
 * Largest frame accepted: a push-pull of MAX_MEMBERS members with endpoints
 * and MAX_CLAIMS claims, at realistic name and address lengths, fits (about
 * 2.5 MB; test/unit/mesh-codec.test.ts measures it). Frames at every limit at
 * once (253-byte names everywhere) do not, and are refused on encode.
 */
export const MAX_FRAME_BYTES = 4 << 20;
/** Kubernetes node names are DNS subdomains: at most 253 characters. */
export const MAX_NAME_BYTES = 253;
/** libp2p peer IDs in base58 are ~52 characters; leave room for other key types. */
export const MAX_PEER_ID_BYTES = 128;
export const MAX_ADDR_BYTES = 256;
export const MAX_ADDRS = 8;
/** Updates per ping, ack or gossip envelope (the core piggybacks at most maxPiggyback). */
export const MAX_UPDATES = 64;
/** Members per push-pull (well above the 2,000 the simulator is measured at). */
export const MAX_MEMBERS = 5_000;
/** The longest IP text: an IPv6 address with an embedded IPv4 one (`ffff:…:255.255.255.255`). */
export const MAX_IP_BYTES = 45;
/** Claims per push-pull: one per service IP the cluster announces. */
export const MAX_CLAIMS = 20_000;
/** Claims per claims message (a member publishes more in several messages). */
export const MAX_GOSSIP_CLAIMS = 256;

/** Type byte n is TYPES[n - 1]; a state byte's low 7 bits index STATES. */
export const TYPES: readonly MessageType[] = [
  'ping',
  'ack',
  'ping-req',
  'nack',
  'gossip',
  'push-pull',
  'claims',
];
export const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];
/** The flag of a state byte that says an endpoint follows. */
export const HAS_ENDPOINT = 0x80;
