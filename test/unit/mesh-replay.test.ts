import test from 'ava';
import fc from 'fast-check';
import { checkKey, open, seal } from '../../src/mesh/libp2p/datagram.ts';
import { REPLAY_WINDOW, ReplayWindow } from '../../src/mesh/libp2p/replay.ts';

test('a replay window: new counters pass, repeats and the too old do not, a new epoch starts over, an old one never passes', (t) => {
  const w = new ReplayWindow();
  const at = (counter: number, epoch = 100) => w.accept({ epoch, counter });
  t.is(at(5), 'ok');
  t.is(at(5), 'duplicate');
  t.is(at(3), 'ok', 'late but within the window');
  t.is(at(3), 'duplicate');
  t.is(at(5 + REPLAY_WINDOW + 10), 'ok');
  t.is(at(5), 'too-old');
  t.is(at(12 + REPLAY_WINDOW), 'ok', 'inside the moved window, never seen');
  t.is(at(0, 99), 'old-epoch', 'a capture from before the sender restarted');
  t.is(at(0, 101), 'ok', 'the sender restarted');
  t.is(at(5 + REPLAY_WINDOW + 10, 100), 'old-epoch');
});

test('a replay window never accepts one stamp twice, whatever the order', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ epoch: fc.integer({ min: 1, max: 3 }), counter: fc.nat({ max: 3_000 }) }), {
        maxLength: 300,
      }),
      (stamps) => {
        const w = new ReplayWindow();
        const accepted = new Set<string>();
        let epoch = 0;
        for (const s of stamps) {
          const verdict = w.accept(s);
          if (verdict !== 'ok') continue;
          const k = `${s.epoch}/${s.counter}`;
          if (accepted.has(k) || s.epoch < epoch) return false;
          accepted.add(k);
          epoch = s.epoch;
        }
        return true;
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('version 2 packets carry the stamp under the tag; version 1 packets still open, without one', (t) => {
  const key = checkKey(new Uint8Array(32).fill(3));
  const frame = Uint8Array.of(1, 2, 3);
  const stamped = open(key, seal(key, frame, { epoch: 1_796_000_000_123, counter: 2 ** 40 + 7 }));
  t.deepEqual(stamped, { frame, stamp: { epoch: 1_796_000_000_123, counter: 2 ** 40 + 7 } });
  t.deepEqual(open(key, seal(key, frame)), { frame, stamp: undefined });
  const packet = seal(key, frame, { epoch: 1, counter: 1 });
  packet[9] = (packet[9] ?? 0) ^ 1; // the counter
  t.throws(() => open(key, packet), { message: /tag does not verify/ });
});
