import anyTest, { type TestFn } from 'ava';
import { createSocket } from 'node:dgram';
import { encode } from '../../src/mesh/codec.ts';
import { checkKey, seal, udpAddressOf } from '../../src/mesh/libp2p/datagram.ts';
import { lengthPrefixed, SWIM_PROTOCOL } from '../../src/mesh/libp2p/index.ts';
import { MAX_TRACKED_NODES } from '../../src/mesh/libp2p/transport.ts';
import { StaticPeerAuthority } from '../../src/mesh/transport.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  aliveSeenBy,
  identity,
  newNetworkKey,
  startSpeaker,
  type Identity,
  type Speaker,
} from './cluster.ts';

interface Ctx {
  ids: Identity[];
  key: Uint8Array;
  authority: StaticPeerAuthority;
  speakers: Speaker[];
  extra: Speaker[];
}
const test = anyTest as TestFn<Ctx>;
const NAMES = ['n1', 'n2', 'n3', 'n4'];

test.before(async (t) => {
  // 'late' is allowed in the mesh but starts later, in its own test.
  const ids = await Promise.all([...NAMES, 'late'].map(identity));
  const key = newNetworkKey();
  const authority = new StaticPeerAuthority(ids.map((i) => [i.name, i.peerId] as const));
  const speakers = await Promise.all(
    ids.slice(0, NAMES.length).map((id) => startSpeaker({ id, networkKey: key, authority })),
  );
  const seed = speakers[0]?.transport.endpoint;
  if (seed === undefined) throw new Error('no seed');
  for (const s of speakers.slice(1)) s.membership.join([seed]);
  t.context = { ids, key, authority, speakers, extra: [] };
});

test.after.always(async (t) => {
  await Promise.all([...t.context.speakers, ...t.context.extra].map((s) => s.stop()));
});

test.serial('four speakers over libp2p all see four alive', async (t) => {
  const { speakers } = t.context;
  await waitFor(
    'every speaker to see 4 alive',
    () => speakers.every((s) => aliveSeenBy(s).length === 4),
    5_000,
  );
  for (const s of speakers) t.deepEqual(aliveSeenBy(s), NAMES);
  // Probes and push-pull went over our protocol.
  t.true(speakers.every((s) => s.transport.stats.framesOut > 0));
});

test.serial('a speaker joins through a seed known only by its address', async (t) => {
  const { speakers, key, ids, authority } = t.context;
  const late = await startSpeaker({ id: ids[NAMES.length] as Identity, networkKey: key, authority });
  t.context.extra.push(late);
  const seedAddrs = (speakers[0] as Speaker).node
    .getMultiaddrs()
    .map((a) => a.toString().replace(/\/p2p\/.*$/, ''));
  late.membership.join([{ peerId: '', addrs: seedAddrs }]);
  await waitFor('the late speaker to see all', () => aliveSeenBy(late).length === 5, 5_000);
  t.deepEqual(aliveSeenBy(late), [...NAMES, 'late'].sort());
  await late.stop();
});

test.serial('a speaker with the wrong network key never completes a handshake', async (t) => {
  const { speakers } = t.context;
  const stranger = await startSpeaker({
    id: await identity('stranger'),
    networkKey: new Uint8Array(32).fill(7),
  });
  t.context.extra.push(stranger);
  stranger.membership.join([speakers[0]?.transport.endpoint ?? { peerId: '', addrs: [] }]);
  await waitFor(
    'the stranger to fail its dial',
    () => (stranger.transport.stats.dropped.dial ?? 0) >= 1,
    10_000,
  );
  t.is(stranger.node.getConnections().length, 0);
  t.true(speakers.every((s) => s.membership.get('stranger') === undefined));
  t.is(aliveSeenBy(stranger).length, 1);
});

test.serial('a peer claiming another node name is ignored and counted', async (t) => {
  const { speakers, key, authority } = t.context;
  const n2 = speakers[1] as Speaker;
  const realPeer = n2.transport.endpoint.peerId;
  // Right network key, but its peer ID is not the one allowed to speak for n2.
  const impostor = await startSpeaker({
    id: await identity('mallory'),
    networkKey: key,
    authority,
    claim: 'n2',
  });
  t.context.extra.push(impostor);
  impostor.membership.join([speakers[0]?.transport.endpoint ?? { peerId: '', addrs: [] }]);
  const n1 = speakers[0] as Speaker;
  await waitFor('n1 to drop the impostor', () => (n1.transport.stats.dropped.unauthorised ?? 0) >= 1, 5_000);
  t.is(n1.membership.get('n2')?.endpoint?.peerId, realPeer);
  t.is(n1.membership.stateOf('n2'), 'alive');
  await impostor.stop();
});

test.serial('garbage on the probe stream is dropped and counted; the peer keeps working', async (t) => {
  const { speakers } = t.context;
  const [n1, n3] = [speakers[0] as Speaker, speakers[2] as Speaker];
  const stream = await n3.node.dialProtocol(n1.node.peerId, SWIM_PROTOCOL);
  const before = n1.transport.stats.dropped['unknown-type'] ?? 0;
  stream.send(lengthPrefixed(Uint8Array.of(1, 99, 1, 2, 3)));
  stream.send(lengthPrefixed(encode({ type: 'nack', seq: 1, from: 'n3' }).subarray(0, 3)));
  await waitFor(
    'n1 to count the garbage',
    () => (n1.transport.stats.dropped['unknown-type'] ?? 0) > before,
    5_000,
  );
  await waitFor(
    'n1 to count the truncated frame',
    () => (n1.transport.stats.dropped.truncated ?? 0) >= 1,
    5_000,
  );
  // A length prefix beyond the frame limit cannot be resynchronised: that stream is reset.
  stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
  await waitFor(
    'n1 to count the oversized frame',
    () => (n1.transport.stats.dropped['too-large'] ?? 0) >= 1,
    5_000,
  );
  // Nobody was declared anything: n3 is alive everywhere and n1 still probes it.
  const probesBefore = n1.membership.stats.probes;
  await waitFor('n1 to keep probing', () => n1.membership.stats.probes > probesBefore + 5, 5_000);
  t.true(speakers.every((s) => s.membership.stateOf('n3') === 'alive'));
});

test.serial('a stopped speaker (no leave) is declared dead by all others within 3 s', async (t) => {
  const { speakers } = t.context;
  const [victim, ...others] = [speakers[3] as Speaker, ...speakers.slice(0, 3)];
  const started = performance.now();
  await victim.stop();
  await waitFor(
    'all to mark n4 dead',
    () => others.every((s) => s.membership.stateOf('n4') === 'dead'),
    3_000,
    10,
  );
  const ms = performance.now() - started;
  t.log(`n4 declared dead by all after ${ms.toFixed(0)} ms`);
  t.true(others.every((s) => s.membership.stateOf('n3') === 'alive'));
  // The suspicion and the verdict travelled over gossipsub.
  await waitFor('gossip to arrive', () => others.every((s) => s.transport.stats.gossipIn > 0), 3_000);
  t.pass();
});

test.serial('10,000 invented senders of keyed datagrams: every per-node table stays bounded', async (t) => {
  const { key } = t.context;
  const target = await startSpeaker({ id: await identity('flooded'), networkKey: key, datagram: true });
  t.context.extra.push(target);
  const udp = udpAddressOf(target.transport.endpoint.addrs);
  if (udp === undefined) throw new Error('no datagram address');
  const sealKey = checkKey(key);
  const socket = createSocket('udp4');
  const before = process.memoryUsage().heapUsed;
  try {
    // In batches, each let in before the next (one process, one socket buffer).
    for (let batch = 0; batch < 100; batch++) {
      for (let i = batch * 100; i < (batch + 1) * 100; i++) {
        const ping = encode({
          type: 'ping',
          seq: i,
          from: `invented-${i}`,
          target: target.name,
          piggyback: [],
        });
        socket.send(seal(sealKey, ping), udp.port, udp.address);
      }
      const want = (batch + 1) * 100 * 0.9;
      await waitFor('a batch to arrive', () => target.transport.stats.datagramsIn >= want, 5_000, 5);
    }
  } finally {
    socket.close();
  }
  const tracked = target.transport.tracked();
  t.true(tracked.udp <= MAX_TRACKED_NODES, `udp ${tracked.udp}`);
  t.true(tracked.endpoints <= MAX_TRACKED_NODES && tracked.knocks <= MAX_TRACKED_NODES);
  t.true(target.membership.tracked().asked <= 1_000, `asked ${target.membership.tracked().asked}`);
  t.is(target.membership.tracked().members, 1, 'invented names are not members');
  t.log(
    `heap ${((process.memoryUsage().heapUsed - before) / 2 ** 20).toFixed(1)} MiB more in this process (all speakers)`,
  );
});
