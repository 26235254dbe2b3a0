import { createSocket } from 'node:dgram';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import test from 'ava';
import { encode, type CodecVersion } from '../../src/mesh/codec.ts';
import type { Message } from '../../src/mesh/messages.ts';
import { StaticPeerAuthority } from '../../src/mesh/transport.ts';
import { checkKey, seal, type UdpAddress } from '../../src/mesh/libp2p/datagram.ts';
import { DatagramPath, type PeerLookup } from '../../src/mesh/libp2p/datagram-path.ts';
import { TransportStats } from '../../src/mesh/libp2p/transport-stats.ts';
import { waitFor } from '../helpers/wait.ts';

const networkKey = new Uint8Array(32).fill(1);
const key = checkKey(networkKey);
const ping: Message = { type: 'ping', seq: 1, from: 'node-a', target: 'node-b', piggyback: [] };
const peers: PeerLookup = { versionTo: () => 2, peerOf: () => undefined, known: () => false };

/** A path on loopback, with what it delivered. */
async function path(opts: { authority?: StaticPeerAuthority } = {}) {
  const stats = new TransportStats();
  const got: { msg: Message; version: CodecVersion }[] = [];
  const p = new DatagramPath({
    datagram: { host: '127.0.0.1', port: 0, networkKey },
    self: 'self',
    peers,
    max: 16,
    stats,
    ...opts,
    deliver: (msg, version) => got.push({ msg, version }),
  });
  await p.start();
  const address = p.address as UdpAddress;
  return { p, stats, got, address };
}

/** Sends raw packets to `to` from a socket of its own. */
async function raw(to: UdpAddress, packets: Uint8Array[]): Promise<void> {
  const socket = createSocket('udp4');
  for (const packet of packets)
    await new Promise<void>((resolve, reject) => {
      socket.send(packet, to.port, to.address, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  socket.close();
}

test('a datagram goes to the address in the endpoint and is delivered with its version; start and stop are idempotent', async (t) => {
  const a = await path();
  const b = await path();
  const first = b.address;
  await b.p.start();
  t.deepEqual(b.p.address, first, 'a second start binds nothing new');
  const endpoint = { peerId: '', addrs: [`/ip4/127.0.0.1/udp/${b.address.port}`] };
  t.true(a.p.send('node-b', endpoint, ping));
  t.false(a.p.send('node-c', undefined, ping), 'no address known for node-c');
  await waitFor('delivered', () => b.got.length === 1);
  t.deepEqual(b.got[0], { msg: ping, version: 2 });
  t.is(a.stats.datagramsOut, 1);
  t.is(b.stats.datagramsIn, 1);
  t.deepEqual(b.p.tracked(), { udp: 1, signed: 0 }, 'the sender is now known by address');
  a.p.stop();
  a.p.stop();
  b.p.stop();
  t.is(a.p.address, undefined);
});

test('replays, downgrades and non-direct messages are dropped and counted; restart lets an older format in', async (t) => {
  const b = await path();
  const frame = encode(ping, 2);
  const stamped = seal(key, frame, { epoch: 1, counter: 1 });
  const gossip = seal(key, encode({ type: 'gossip', from: 'node-a', updates: [] }, 2), {
    epoch: 1,
    counter: 2,
  });
  const unstamped = seal(key, encode(ping, 1));
  await raw(b.address, [stamped, stamped, gossip, unstamped]);
  await waitFor('all four seen', () => b.stats.datagramsIn === 4);
  t.is(b.got.length, 1, 'only the first copy');
  t.deepEqual(b.stats.dropped, { 'datagram-replay': 1, 'datagram-type': 1, 'datagram-downgrade': 1 });
  // A new process of node-a (a rollback to the unstamped format) starts afresh.
  b.p.restart('node-a');
  await raw(b.address, [unstamped]);
  await waitFor('the unstamped one delivered', () => b.got.length === 2);
  t.is(b.got[1]?.version, 1);
  b.p.stop();
});

test('bound datagrams: the sending peer must speak for the node; once bound, unbound ones are downgrades until unbind', async (t) => {
  const [ka, kb] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')]);
  const [ida, idb] = [peerIdFromPrivateKey(ka).toString(), peerIdFromPrivateKey(kb).toString()];
  const bound = (self: string, privateKey: typeof ka, other: string, authority: StaticPeerAuthority) => {
    const stats = new TransportStats();
    const got: Message[] = [];
    const p = new DatagramPath({
      datagram: { host: '127.0.0.1', port: 0, networkKey, privateKey },
      self,
      peers: { versionTo: () => 2, peerOf: () => other, known: (peer) => peer === other },
      max: 16,
      stats,
      authority,
      deliver: (msg) => got.push(msg),
    });
    return { p, stats, got };
  };
  const a = bound(ida, ka, idb, new StaticPeerAuthority([['node-b', idb]]));
  // B believes node-a is another peer: A's bound datagrams in node-a's name are refused.
  const b = bound(idb, kb, ida, new StaticPeerAuthority([['node-a', 'someone-else']]));
  await Promise.all([a.p.start(), b.p.start()]);
  const to = { peerId: idb, addrs: [`/ip4/127.0.0.1/udp/${b.p.address?.port}`] };
  t.true(a.p.send('node-b', to, ping));
  await waitFor('refused', () => b.stats.dropped.unauthorised === 1);
  t.is(b.got.length, 0);
  b.p.stop();

  const c = bound(idb, kb, ida, new StaticPeerAuthority([['node-a', ida]]));
  await c.p.start();
  const toC = { peerId: idb, addrs: [`/ip4/127.0.0.1/udp/${c.p.address?.port}`] };
  t.true(a.p.send('node-b', toC, ping));
  await waitFor('delivered', () => c.got.length === 1);
  t.is(c.p.tracked().signed, 1, 'node-a sends bound datagrams');
  const address = c.p.address as UdpAddress;
  // Stamped by a later epoch than A's channel (its start time), so only the binding decides.
  const later = Date.now() + 60_000;
  await raw(address, [seal(key, encode(ping, 2), { epoch: later, counter: 1 })]);
  await waitFor('the unbound one dropped', () => c.stats.dropped['datagram-downgrade'] === 1);
  c.p.unbind('node-a');
  await raw(address, [seal(key, encode(ping, 2), { epoch: later, counter: 2 })]);
  await waitFor('the unbound one delivered after unbind', () => c.got.length === 2);
  c.p.forget('node-a');
  t.deepEqual(c.p.tracked(), { udp: 0, signed: 0 });
  a.p.stop();
  c.p.stop();
});
