import test from 'ava';
import fc from 'fast-check';
import { MeshCodecError } from '../../src/mesh/errors.ts';
import { checkKey, DatagramChannel, seal, udpAddressOf, unseal } from '../../src/mesh/libp2p/datagram.ts';
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
    (f) => got.push(f),
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
