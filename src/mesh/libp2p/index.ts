export { FrameReader, lengthPrefixed } from './framing.ts';
export { MEMBERSHIP_TOPIC } from './gossip.ts';
export { MeshKeyError, swarmKey } from './keys.ts';
export { createMeshNode, type MeshNode, type MeshNodeOptions } from './node.ts';
export { SWIM_PROTOCOL } from './streams.ts';
export { Libp2pTransport, type MeshSink } from './transport.ts';
export { TransportStats } from './transport-stats.ts';
