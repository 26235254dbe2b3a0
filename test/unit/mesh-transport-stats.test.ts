import test from 'ava';
import { encode } from '../../src/mesh/codec.ts';
import { decodeCounted, TransportStats } from '../../src/mesh/libp2p/transport-stats.ts';

test('decodeCounted: a frame is counted by type and size, a bad one by codec error code', (t) => {
  const stats = new TransportStats();
  const frame = encode({ type: 'nack', seq: 3, from: 'node-a' }, 2);
  t.deepEqual(decodeCounted(frame, stats), { msg: { type: 'nack', seq: 3, from: 'node-a' }, version: 2 });
  t.deepEqual(stats.bytesReceivedByType, { nack: frame.length });
  t.is(decodeCounted(Uint8Array.of(9, 1), stats), undefined);
  t.is(decodeCounted(new Uint8Array(0), stats), undefined);
  t.deepEqual(stats.dropped, { 'bad-version': 1, truncated: 1 });
  t.deepEqual(stats.bytesReceivedByType, { nack: frame.length }, 'nothing counted for what did not decode');
});
