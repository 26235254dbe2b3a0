import test from 'ava';
import { BoundedMap } from '../../src/mesh/bounded-map.ts';

test('a BoundedMap evicts the oldest entry past its bound; setting a key makes it the newest', (t) => {
  const m = new BoundedMap<string, number>(3);
  m.set('a', 1).set('b', 2).set('c', 3);
  m.set('a', 4); // a is now the newest
  m.set('d', 5); // evicts b, the oldest
  t.deepEqual([...m.keys()], ['c', 'a', 'd']);
  for (let i = 0; i < 10_000; i++) m.set(`x${i}`, i);
  t.is(m.size, 3);
  t.deepEqual([...m.keys()], ['x9997', 'x9998', 'x9999']);
});
