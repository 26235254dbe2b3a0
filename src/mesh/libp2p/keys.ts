/** Thrown for a network key that is not 32 bytes. */
export class MeshKeyError extends Error {
  override name = 'MeshKeyError';
}

/**
 * Turns the 32-byte mesh key (the Secret every speaker mounts) into the
 * swarm-key file format @libp2p/pnet expects:
 * "/key/swarm/psk/1.0.0/\n/base16/\n<64 hex digits>".
 */
export function swarmKey(key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new MeshKeyError(`the mesh key must be 32 bytes, got ${key.length}`);
  const hex = Buffer.from(key).toString('hex');
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`);
}
