// The addon's pulse (native/pulse.c) over real UDP on loopback: its thread
// sends, watches and reports; forged, replayed and malformed datagrams are
// counted and change nothing.
import { createSocket } from 'node:dgram';
import test from 'ava';
import fc from 'fast-check';
import { PulseSocket, PulseSocketError } from '../../src/arp/index.ts';
import { loadAddon } from '../../src/arp/native.ts';
import { pulseIdOf } from '../../src/mesh/index.ts';
import { pulseFrame, siphash24 } from '../helpers/siphash.ts';
import { waitFor } from '../helpers/wait.ts';

const KEY = new Uint8Array(16).fill(7);
const A = pulseIdOf('node-a');
const B = pulseIdOf('node-b');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function open(id: Uint8Array, leaseMs = 200): { s: PulseSocket; events: [string, string, number][] } {
  const s = new PulseSocket({ address: '127.0.0.1', port: 0, id, intervalMs: 5, leaseMs });
  const events: [string, string, number][] = [];
  s.onEvent((e, who, ago) => events.push([e, who, ago]));
  return { s, events };
}

async function send(port: number, packets: readonly Uint8Array[]): Promise<void> {
  const u = createSocket('udp4');
  for (const p of packets)
    await new Promise<void>((resolve, reject) => {
      u.send(p, port, '127.0.0.1', (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  u.close();
}

test('SipHash-2-4 of the test helper matches the paper’s vector (so frames forged with it test the addon’s)', (t) => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const msg = Uint8Array.from({ length: 15 }, (_, i) => i);
  t.is(siphash24(key, msg).toString(16), 'a129ca6149be45e5');
});

test('an heir subscribes; the announcer pulses it; a lapsed lease is a silence; a renewal, heard again', async (t) => {
  const a = open(A, 60);
  const b = open(B);
  t.teardown(() => {
    a.s.close();
    b.s.close();
  });
  a.s.peers([{ id: B, key: KEY }]);
  a.s.renew();
  b.s.watch([{ id: A, key: KEY, silenceMs: 15, address: '127.0.0.1', port: a.s.port }]);
  await waitFor('the first pulse', () => b.events.some(([e]) => e === 'heard'), 2_000, 5);
  t.deepEqual(b.events[0]?.slice(0, 2), ['heard', hex(A)]);
  t.true((b.s.heardAgoMs(A) ?? Infinity) < 50);
  t.is(b.s.heardAgoMs(B), undefined, 'not watched: nothing heard');
  // No renewal: the pulses stop after the lease (60 ms), the silence 15 ms later.
  await waitFor('the silence', () => b.events.some(([e]) => e === 'silent'), 2_000, 5);
  const silent = b.events.find(([e]) => e === 'silent');
  t.true((silent?.[2] ?? 0) >= 15);
  a.s.renew();
  await waitFor('heard again', () => b.events.filter(([e]) => e === 'heard').length === 2, 2_000, 5);
  const sa = a.s.stats();
  const sb = b.s.stats();
  t.true((sa?.sent ?? 0) >= 5);
  t.is(sa?.sendErrors, 0);
  t.like(sa, { subscribers: 1, badTag: 0, unknown: 0 });
  t.true((sa?.subscriptions ?? 0) >= 2, 'subscribed at once, and again after the silence');
  t.true((sb?.accepted ?? 0) >= 5);
  t.is((sb?.received ?? 0) - (sb?.accepted ?? 0), 0, 'every pulse accepted');
  // No longer a peer: no longer pulsed.
  a.s.peers([]);
  t.is(a.s.stats()?.subscribers, 0);
});

test('subscriptions: forged, replayed and unknown ones are refused; a good one is pulsed at its source address', async (t) => {
  const a = open(A);
  t.teardown(() => {
    a.s.close();
  });
  a.s.peers([{ id: B, key: KEY }]);
  a.s.renew();
  const u = createSocket('udp4');
  const got: Buffer[] = [];
  u.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => u.bind(0, '127.0.0.1', resolve));
  t.teardown(() => u.close());
  const sub = (key: Uint8Array, id: Uint8Array, seq: bigint): Buffer => {
    const f = pulseFrame(key, id, seq);
    f[3] = 2;
    f.writeBigUInt64LE(siphash24(key, f.subarray(0, 20)), 20);
    return f;
  };
  const say = (f: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      u.send(f, a.s.port, '127.0.0.1', (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  await say(sub(new Uint8Array(16).fill(9), B, 5n));
  await say(sub(KEY, pulseIdOf('stranger'), 5n));
  await waitFor('two refused', () => (a.s.stats()?.received ?? 0) === 2, 2_000, 5);
  t.like(a.s.stats(), { badTag: 1, unknown: 1, subscribers: 0 });
  t.deepEqual(got, []);
  await say(sub(KEY, B, 5n));
  await waitFor('pulses', () => got.length >= 3, 2_000, 5);
  // Each is a pulse from A, tagged with the pair's key: the JS SipHash agrees with the addon's.
  for (const f of got.slice(0, 3)) {
    t.is(f.length, 28);
    t.is(f.subarray(0, 4).toString('latin1'), 'MLP\x01');
    t.is(f.subarray(4, 12).toString('hex'), hex(A));
    t.is(f.readBigUInt64LE(20), siphash24(KEY, f.subarray(0, 20)));
  }
  await say(sub(KEY, B, 5n));
  await waitFor('the replay counted', () => (a.s.stats()?.replayed ?? 0) === 1, 2_000, 5);
  t.like(a.s.stats(), { subscriptions: 1, subscribers: 1 });
});

test('a frame with the wrong key, a replayed one and an unknown sender are counted and not heard', async (t) => {
  const b = open(B);
  t.teardown(() => {
    b.s.close();
  });
  b.s.watch([{ id: A, key: KEY, silenceMs: 1_000 }]);
  const other = new Uint8Array(16).fill(8);
  await send(b.s.port, [pulseFrame(other, A, 10n), pulseFrame(KEY, B, 10n)]);
  await waitFor('two datagrams', () => (b.s.stats()?.received ?? 0) === 2, 2_000, 5);
  t.like(b.s.stats(), { badTag: 1, unknown: 1, accepted: 0 });
  t.deepEqual(b.events, []);
  // A good one (the JS SipHash forges what the C one accepts), then it again and an older one.
  await send(b.s.port, [pulseFrame(KEY, A, 10n), pulseFrame(KEY, A, 10n), pulseFrame(KEY, A, 9n)]);
  await waitFor('five datagrams', () => (b.s.stats()?.received ?? 0) === 5, 2_000, 5);
  t.like(b.s.stats(), { accepted: 1, replayed: 2 });
  await waitFor('the heard event', () => b.events.length > 0, 2_000, 5);
  t.deepEqual(
    b.events.map(([e, id]) => [e, id]),
    [['heard', hex(A)]],
  );
});

test('garbage datagrams (fuzzed) are counted as malformed or refused; nothing is heard and the thread goes on', async (t) => {
  const b = open(B);
  t.teardown(() => {
    b.s.close();
  });
  b.s.watch([{ id: A, key: KEY, silenceMs: 1_000 }]);
  b.s.peers([{ id: B, key: KEY }]);
  const magic = Buffer.from('MLP\x01', 'latin1');
  const packets = fc.sample(
    fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 64 }),
      // The right length and magic, A's id: only the tag can be wrong.
      fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .map((rest) => Buffer.concat([magic, Buffer.from(A), Buffer.from(rest)])),
      // The right magic, any length.
      fc.uint8Array({ minLength: 0, maxLength: 40 }).map((rest) => Buffer.concat([magic, Buffer.from(rest)])),
      // A subscription of the right length from B (a peer): only the tag can be wrong.
      fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .map((rest) => Buffer.concat([Buffer.from('MLP\x02', 'latin1'), Buffer.from(B), Buffer.from(rest)])),
    ),
    { numRuns: 500, seed: 42 },
  );
  await send(b.s.port, packets);
  await waitFor('every datagram', () => (b.s.stats()?.received ?? 0) === packets.length, 5_000, 5);
  const st = b.s.stats();
  t.is(st?.accepted, 0);
  t.is(st?.subscriptions, 0);
  t.is((st?.malformed ?? 0) + (st?.badTag ?? 0) + (st?.unknown ?? 0), packets.length);
  t.deepEqual(b.events, []);
  // Still working: a real pulse is heard.
  await send(b.s.port, [pulseFrame(KEY, A, 1n)]);
  await waitFor('the real pulse', () => b.events.length === 1, 2_000, 5);
});

test('a port in use is a PulseSocketError naming it; a closed pulse does nothing, the raw handle refuses', (t) => {
  const b = open(B);
  const err = t.throws(
    () => new PulseSocket({ address: '127.0.0.1', port: b.s.port, id: A, intervalMs: 5, leaseMs: 100 }),
    { instanceOf: PulseSocketError },
  );
  t.is(err.code, 'EADDRINUSE');
  t.regex(err.message, new RegExp(`127\\.0\\.0\\.1:${b.s.port}: EADDRINUSE`));
  b.s.close();
  b.s.close();
  t.is(b.s.stats(), undefined);
  t.notThrows(() => {
    b.s.renew();
  });
  // Bad arguments to the addon are TypeErrors, not crashes.
  const addon = loadAddon();
  t.throws(
    () => addon.openPulse({ address: 'nope', port: 0, id: A, intervalMs: 5, leaseMs: 100 }, () => undefined),
    {
      instanceOf: TypeError,
    },
  );
  t.throws(
    () =>
      addon.openPulse(
        { address: '127.0.0.1', port: 0, id: new Uint8Array(3), intervalMs: 5, leaseMs: 100 },
        () => undefined,
      ),
    { instanceOf: TypeError },
  );
});
