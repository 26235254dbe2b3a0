import test from 'ava';
import { refused } from '../../src/mesh/libp2p/knock.ts';

test('only a refusal, wherever it sits in a dial error, counts as refused', (t) => {
  const e = (code: string) => Object.assign(new Error(code), { code });
  t.true(refused(e('ECONNREFUSED')));
  t.true(refused(new Error('dial failed', { cause: e('ECONNREFUSED') })));
  t.true(refused(new AggregateError([e('ETIMEDOUT'), e('ECONNREFUSED')])));
  t.false(refused(e('EHOSTUNREACH')), 'a failed neighbour resolution (partition, cut link)');
  t.false(refused(e('ETIMEDOUT')));
  t.false(refused(new Error('mesh: member answered after being declared dead')), 'our own abort');
  t.false(refused(new AggregateError([e('EHOSTUNREACH')])));
  t.false(refused(undefined));
  t.false(refused('ECONNREFUSED'));
});
