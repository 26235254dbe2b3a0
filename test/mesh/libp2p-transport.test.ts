import anyTest, { type TestFn } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '../../src/mesh/codec.ts';
import { checkKey, seal, udpAddressOf, type UdpAddress } from '../../src/mesh/libp2p/datagram.ts';
import { PairKeys } from '../../src/mesh/libp2p/pair-keys.ts';
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
} from '../../lab/testbed/speakers/in-process.ts';

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

/** A speaker's datagram address (it was started with `datagram: true`). */
function datagramAddress(s: Speaker): UdpAddress {
  const udp = udpAddressOf(s.transport.endpoint.addrs);
  if (udp === undefined) throw new Error(`${s.name} has no datagram address`);
  return udp;
}

/**
 * Sends `target` a ping from a raw socket as node `from`, sealed stamped
 * (version 2) or not (version 1), and returns the format version of its
 * answer (undefined: none within 2 s).
 */
async function answerVersion(
  key: Uint8Array,
  target: Speaker,
  from: string,
  stamped: boolean,
): Promise<number | undefined> {
  const udp = datagramAddress(target);
  const socket = createSocket('udp4');
  try {
    const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    const ping = encode({ type: 'ping', seq: 1, from, target: target.name, piggyback: [] });
    const packet = seal(checkKey(key), ping, stamped ? { epoch: Date.now(), counter: 1 } : undefined);
    socket.send(packet, udp.port, udp.address);
    const answer = await Promise.race([
      reply,
      new Promise<undefined>((resolve) => {
        setTimeout(() => {
          resolve(undefined);
        }, 2_000);
      }),
    ]);
    return answer?.[1];
  } finally {
    socket.close();
  }
}

test.serial(
  'datagrams are bound to their sender: a member holding the mesh key cannot speak for another node',
  async (t) => {
    const { key } = t.context;
    const ids = await Promise.all([
      identity('bound-target'),
      identity('bound-victim'),
      identity('bound-forger'),
    ]);
    const [idT, idV, idF] = ids;
    const authority = new StaticPeerAuthority(ids.map((i) => [i.name, i.peerId] as const));
    const [target, victim, forger] = (await Promise.all(
      ids.map((id) => startSpeaker({ id, networkKey: key, authority, datagram: true })),
    )) as [Speaker, Speaker, Speaker];
    t.context.extra.push(target, victim, forger);
    victim.membership.join([target.transport.endpoint]);
    forger.membership.join([target.transport.endpoint]);
    await waitFor(
      'the victim and the forger send the target datagrams bound to their keys',
      () => target.transport.tracked().signed === 2,
      10_000,
    );
    // The forger, a member: its mesh key and peer key, and a raw socket of its own.
    const pair = new PairKeys(idF.privateKey, idF.peerId, key).keyFor(idT.peerId);
    if (pair === undefined) throw new Error('no pair key');
    const udp = datagramAddress(target);
    const socket = createSocket('udp4');
    const ping = (from: string, seq: number) =>
      encode({ type: 'ping', seq, from, target: idT.name, piggyback: [] }, 2);
    const stamp = (seq: number) => ({ epoch: Date.now(), counter: seq });
    const bound = (from: string, seq: number) =>
      seal(pair, ping(from, seq), stamp(seq), new TextEncoder().encode(idF.peerId));
    const drops = (reason: string): number => target.transport.stats.dropped[reason] ?? 0;
    // An accepted ping is answered to the node it names, whose membership finds no such
    // probe of its own: an `unknown-seq` drop there says the target took it.
    const unknownSeq = (s: Speaker): number => s.membership.stats.dropped['unknown-seq'] ?? 0;
    try {
      const forgerBefore = unknownSeq(forger);
      socket.send(bound(idF.name, 1_000_001), udp.port, udp.address);
      await waitFor('the ping in its own name answered', () => unknownSeq(forger) > forgerBefore, 3_000);
      const victimBefore = unknownSeq(victim);
      // In the victim's name, bound to the forger's own key: that peer may not speak for it.
      const unauthorised = drops('unauthorised');
      socket.send(bound(idV.name, 1_000_002), udp.port, udp.address);
      await waitFor('refused as unauthorised', () => drops('unauthorised') === unauthorised + 1, 3_000);
      // In the victim's name with the mesh key's tag alone (the older format): the victim
      // sends bound datagrams, so this one is a forgery.
      const downgrade = drops('datagram-downgrade');
      socket.send(seal(checkKey(key), ping(idV.name, 1_000_003), stamp(3)), udp.port, udp.address);
      await waitFor('refused as a downgrade', () => drops('datagram-downgrade') === downgrade + 1, 3_000);
      t.is(unknownSeq(victim), victimBefore, 'nothing was answered in the victim’s name');
    } finally {
      socket.close();
    }
  },
);

test.serial('a reaped member is forgotten by libp2p’s peer store too', async (t) => {
  const { key } = t.context;
  const [idA, idB] = await Promise.all([identity('reaper'), identity('reaped')]);
  const a = await startSpeaker({ id: idA, networkKey: key, datagram: true, config: { reapAfterMs: 300 } });
  const b = await startSpeaker({ id: idB, networkKey: key, datagram: true });
  t.context.extra.push(a, b);
  b.membership.join([a.transport.endpoint]);
  await waitFor(
    'the two to see each other',
    () => aliveSeenBy(a).length === 2 && aliveSeenBy(b).length === 2,
  );
  const stored = async (): Promise<boolean> =>
    (await a.node.peerStore.all()).some((p) => p.id.toString() === idB.peerId);
  t.true(await stored(), 'libp2p stored the peer it talked to');
  b.membership.leave();
  await b.stop();
  await waitFor('B reaped', () => a.membership.tracked().members === 1, 10_000);
  await waitFor('B gone from the peer store', async () => !(await stored()), 5_000);
  t.pass();
});

test.serial('10,000 invented senders of keyed datagrams: every per-node table stays bounded', async (t) => {
  const { key } = t.context;
  const target = await startSpeaker({ id: await identity('flooded'), networkKey: key, datagram: true });
  t.context.extra.push(target);
  const udp = datagramAddress(target);
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

test.serial(
  'a replaying attacker process: a stopped speaker’s captured datagrams are dropped, and it is not heard from',
  async (t) => {
    const { key } = t.context;
    const [idA, idB] = await Promise.all([identity('replay-a'), identity('replay-b')]);
    const authority = new StaticPeerAuthority([idA, idB].map((i) => [i.name, i.peerId] as const));
    const a = await startSpeaker({ id: idA, networkKey: key, authority, datagram: true });
    const b = await startSpeaker({ id: idB, networkKey: key, authority, datagram: true });
    t.context.extra.push(a, b);
    b.membership.join([a.transport.endpoint]);
    await waitFor(
      'the two to see each other',
      () => aliveSeenBy(a).length === 2 && aliveSeenBy(b).length === 2,
    );
    const udpA = datagramAddress(a);
    // The attacker captures what reaches A's datagram port on lo.
    const dir = mkdtempSync(join(tmpdir(), 'meshlb-replay-'));
    const capture = join(dir, 'capture.pcap');
    const dump = spawn('tcpdump', ['-i', 'lo', '-U', '-n', '-w', capture, `udp and dst port ${udpA.port}`], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => dump.once('exit', resolve));
    // About 40 datagrams (a record is ~150 bytes).
    await waitFor(
      'the capture to hold them',
      () => existsSync(capture) && statSync(capture).size > 6_000,
      10_000,
    );
    dump.kill('SIGINT');
    await exited;
    // B's process stops (no leave): A declares it dead.
    await b.stop();
    await waitFor('B dead in A’s view', () =>
      a.membership.members().some((m) => m.node === 'replay-b' && m.state === 'dead'),
    );
    const heard = a.membership.heardAt('replay-b');
    const dropped = a.transport.stats.dropped['datagram-replay'] ?? 0;
    const attacker = spawnSync(
      process.execPath,
      [
        fileURLToPath(new URL('fixtures/replay-attacker.ts', import.meta.url)),
        capture,
        udpA.address,
        String(udpA.port),
      ],
      { encoding: 'utf8' },
    );
    t.is(attacker.status, 0, attacker.stderr);
    const sent = Number(attacker.stdout.trim());
    t.true(sent >= 20, `${sent} replayed`);
    await waitFor(
      'every replay dropped',
      () => (a.transport.stats.dropped['datagram-replay'] ?? 0) - dropped >= sent,
      5_000,
    );
    t.is(a.membership.heardAt('replay-b'), heard, 'nothing replayed counted as heard from the dead member');
    t.true(a.membership.members().some((m) => m.node === 'replay-b' && m.state === 'dead'));
    rmSync(dir, { recursive: true, force: true });
  },
);

test.serial(
  'a speaker of the older datagram format (version 1) is answered in version 1; others in version 2',
  async (t) => {
    const { key } = t.context;
    const target = await startSpeaker({ id: await identity('mixed'), networkKey: key, datagram: true });
    t.context.extra.push(target);
    t.is(
      await answerVersion(key, target, 'older-speaker', false),
      1,
      'an unstamped ping gets an unstamped ack',
    );
    t.is(await answerVersion(key, target, 'newer-speaker', true), 2, 'a stamped ping gets a stamped ack');
  },
);

test.serial(
  'a node whose new process speaks the older format (a rollback) is heard again once its stream names it',
  async (t) => {
    const { key } = t.context;
    const a = await startSpeaker({ id: await identity('rollback-a'), networkKey: key, datagram: true });
    const b1 = await startSpeaker({ id: await identity('rollback-b'), networkKey: key, datagram: true });
    t.context.extra.push(a, b1);
    b1.membership.join([a.transport.endpoint]);
    await waitFor(
      'b to be heard over datagrams',
      () => a.transport.stats.datagramsIn > 5 && aliveSeenBy(a).length === 2,
    );
    await b1.stop();
    // Its replacement (same node name, a new peer ID) joins over the stream.
    const b2 = await startSpeaker({ id: await identity('rollback-b'), networkKey: key });
    t.context.extra.push(b2);
    const framesBefore = a.transport.stats.framesIn;
    b2.membership.join([a.transport.endpoint]);
    await waitFor('its stream message to reach a', () => a.transport.stats.framesIn > framesBefore);
    t.is(
      await answerVersion(key, a, 'rollback-b', false),
      1,
      'its version 1 ping is answered in version 1, not dropped as a downgrade',
    );
  },
);
