import test from 'ava';
import { CODEC_VERSION } from '../../src/mesh/codec.ts';
import { PeerVersions } from '../../src/mesh/libp2p/versions.ts';
import type { Message, PushPull } from '../../src/mesh/messages.ts';

const ping: Message = { type: 'ping', seq: 1, from: 'a', target: 'me', piggyback: [] };
const join = (protocol?: number): PushPull => ({
  type: 'push-pull',
  from: 'a',
  join: true,
  reply: false,
  members: [],
  claims: [],
  ...(protocol === undefined ? {} : { protocol }),
});

test('a member nothing is known of gets version 1; one heard in version 2 gets version 2, and keeps it', (t) => {
  const v = new PeerVersions(16);
  t.is(v.to('a'), 1);
  v.heard('a', 1, ping);
  t.is(v.to('a'), 1);
  v.heard('a', 2, ping);
  t.is(v.to('a'), 2);
  // A version 2 member may still send version 1 (to us, before it heard from us): no downgrade.
  v.heard('a', 1, ping);
  t.is(v.to('a'), 2);
  t.deepEqual(v.counts(), { '2': 1 });
});

test('a join says anew what the process reads: a rollback to version 1 with the same identity is followed', (t) => {
  const v = new PeerVersions(16);
  v.heard('a', 2, join(2));
  t.is(v.to('a'), 2);
  v.heard('a', 1, join());
  t.is(v.to('a'), 1, 'an older release joined');
  // A later release that reads more than this one: this one's highest.
  v.heard('a', 2, join(9));
  t.is(v.to('a'), CODEC_VERSION);
});

test('broadcasts are version 1 while any member known reads only version 1', (t) => {
  const v = new PeerVersions(16);
  t.is(v.broadcast(), CODEC_VERSION, 'nobody known');
  v.heard('a', 2, ping);
  v.heard('b', 1, { ...ping, from: 'b' });
  t.is(v.broadcast(), 1);
  t.deepEqual(v.counts(), { '1': 1, '2': 1 });
  v.heard('b', 2, { ...ping, from: 'b' });
  t.is(v.broadcast(), 2, 'b upgraded');
  v.heard('c', 1, { ...ping, from: 'c' });
  v.forget('c');
  t.is(v.broadcast(), 2, 'c reaped');
});
