import test from 'ava';
import fc from 'fast-check';
import { MeshCodecError } from '../../src/mesh/errors.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  checkKey,
  DatagramChannel,
  open,
  seal,
  udpAddressOf,
  unseal,
} from '../../src/mesh/libp2p/datagram.ts';
import { PairKeys } from '../../src/mesh/libp2p/pair-keys.ts';
import { waitFor } from '../helpers/wait.ts';

const key = checkKey(new Uint8Array(32).fill(1));
const other = checkKey(new Uint8Array(32).fill(2));

test('sealed frames open with the same key only; any change fails the tag', (t) => {
  const frame = Uint8Array.of(1, 4, 1, 2, 0x61, 0x62);
  t.deepEqual(unseal(key, seal(key, frame)), frame);
  t.is(t.throws(() => unseal(other, seal(key, frame)), { instanceOf: MeshCodecError }).code, 'auth');
  const tampered = seal(key, frame);
  tampered[3] = (tampered[3] ?? 0) ^ 1;
  t.is(t.throws(() => unseal(key, tampered), { instanceOf: MeshCodecError }).code, 'auth');
  t.is(t.throws(() => unseal(key, Uint8Array.of(0x6d, 1)), { instanceOf: MeshCodecError }).code, 'truncated');
});

test('arbitrary bytes never open and never throw anything but MeshCodecError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        unseal(key, bytes);
        return false;
      } catch (err) {
        return err instanceof MeshCodecError;
      }
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});

async function peer(networkKey = new Uint8Array(32).fill(1)) {
  const privateKey = await generateKeyPair('Ed25519');
  const id = peerIdFromPrivateKey(privateKey).toString();
  return { id, pairs: new PairKeys(privateKey, id, networkKey) };
}

test('pair keys: both ends derive the same key with no exchange; a third peer or another mesh key does not', async (t) => {
  const [a, b, c] = await Promise.all([peer(), peer(), peer()]);
  const exported = (k: ReturnType<PairKeys['keyFor']>) => k?.export().toString('hex');
  t.is(exported(a.pairs.keyFor(b.id)), exported(b.pairs.keyFor(a.id)));
  t.not(exported(a.pairs.keyFor(b.id)), exported(c.pairs.keyFor(b.id)));
  const elsewhere = await peer(new Uint8Array(32).fill(9));
  t.not(exported(elsewhere.pairs.keyFor(b.id)), exported(b.pairs.keyFor(elsewhere.id)));
  t.is(a.pairs.keyFor('not a peer id'), undefined);
});

test('version 3: bound to the pair; another pair, a changed sender or no key fails the tag', async (t) => {
  const [a, b, c] = await Promise.all([peer(), peer(), peer()]);
  const frame = Uint8Array.of(2, 4, 1, 2, 0x61, 0x62);
  const stamp = { epoch: 1_796_000_000_000, counter: 5 };
  const sender = new TextEncoder().encode(a.id);
  const ab = a.pairs.keyFor(b.id);
  if (ab === undefined) throw new Error('no key');
  const packet = seal(ab, frame, stamp, sender);
  t.is(packet[1], 3);
  t.deepEqual(
    open(key, packet, (s) => b.pairs.keyFor(s)),
    { frame, stamp, sender: a.id },
  );
  const code = (p: Uint8Array, pairKey: (s: string) => ReturnType<PairKeys['keyFor']>) =>
    t.throws(() => open(key, p, pairKey), { instanceOf: MeshCodecError }).code;
  t.is(
    code(packet, (s) => c.pairs.keyFor(s)),
    'auth',
    'a third peer cannot open it',
  );
  t.is(
    code(packet, () => undefined),
    'auth',
    'no key for the sender',
  );
  // The sender named is under the tag: naming another breaks it.
  const renamed = seal(ab, frame, stamp, new TextEncoder().encode(c.id));
  t.is(
    code(renamed, (s) => b.pairs.keyFor(s)),
    'auth',
  );
  // Bad sender fields.
  const header = Uint8Array.of(0x6d, 3, ...new Uint8Array(16));
  t.is(
    code(Uint8Array.of(...header, 0, ...new Uint8Array(20)), () => key),
    'invalid',
  );
  t.is(
    code(Uint8Array.of(...header, 200, ...new Uint8Array(20)), () => key),
    'truncated',
  );
  t.is(
    code(Uint8Array.of(...header, 2, 0xc3, 0x28, ...new Uint8Array(20)), () => key),
    'bad-utf8',
  );
  t.throws(() => seal(ab, frame, undefined, sender), { instanceOf: RangeError }, 'version 3 is stamped');
});

test('version 3: arbitrary bytes never open and never throw anything but MeshCodecError', (t) => {
  const v3 = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }))
    .map(([n, rest]) => Uint8Array.of(0x6d, 3, ...new Uint8Array(16), n, ...rest));
  fc.assert(
    fc.property(v3, (bytes) => {
      try {
        open(key, bytes, () => other);
        return false;
      } catch (err) {
        return err instanceof MeshCodecError;
      }
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});

test('udp addresses are read from endpoint multiaddrs', (t) => {
  t.deepEqual(udpAddressOf(['/ip4/10.0.0.1/tcp/7946/p2p/x', '/ip4/10.0.0.1/udp/7947']), {
    address: '10.0.0.1',
    port: 7947,
  });
  t.deepEqual(udpAddressOf(['/ip6/fd00::1/udp/7947']), { address: 'fd00::1', port: 7947 });
  t.is(udpAddressOf(['/ip4/10.0.0.1/tcp/7946']), undefined);
});

test('two channels exchange frames over loopback; a foreign key is dropped and counted', async (t) => {
  const a = new DatagramChannel({ networkKey: new Uint8Array(32).fill(1), host: '127.0.0.1', port: 0 });
  const b = new DatagramChannel({ networkKey: new Uint8Array(32).fill(1), host: '127.0.0.1', port: 0 });
  const stranger = new DatagramChannel({
    networkKey: new Uint8Array(32).fill(9),
    host: '127.0.0.1',
    port: 0,
  });
  const got: Uint8Array[] = [];
  const drops: string[] = [];
  await a.start(
    () => undefined,
    () => undefined,
  );
  const bAddr = await b.start(
    (o) => got.push(o.frame),
    (r) => drops.push(r),
  );
  await stranger.start(
    () => undefined,
    () => undefined,
  );
  try {
    t.true(a.send(bAddr, Uint8Array.of(7, 7, 7)));
    stranger.send(bAddr, Uint8Array.of(6));
    await waitFor('the frame', () => got.length === 1 && drops.length === 1, 2_000);
    t.deepEqual(got[0], Uint8Array.of(7, 7, 7));
    t.deepEqual(drops, ['datagram-auth']);
    t.false(a.send(bAddr, new Uint8Array(2_000)), 'too big for one datagram');
  } finally {
    a.stop();
    b.stop();
    stranger.stop();
  }
});
