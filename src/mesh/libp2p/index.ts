export { FrameReader, lengthPrefixed } from './framing.ts';
export { MeshKeyError, swarmKey } from './keys.ts';
export { createMeshNode, type MeshNode, type MeshNodeOptions } from './node.ts';
export {
  Libp2pTransport,
  MEMBERSHIP_TOPIC,
  SWIM_PROTOCOL,
  TransportStats,
  type MeshSink,
} from './transport.ts';
