import test from 'ava';
import { IsolationGuard } from '../../src/election/index.ts';

test('with a majority of the mesh, a speaker announces whatever the API server does', (t) => {
  const g = new IsolationGuard({ graceMs: 3_000 });
  t.true(g.mayAnnounce({ now: 0, reachable: 3, known: 5, apiOkAt: undefined }));
  t.true(g.mayAnnounce({ now: 60_000, reachable: 3, known: 5, apiOkAt: undefined }));
  t.is(g.isolatedSince, undefined);
});

test('cut off from the majority and the API server, it stops after the grace period', (t) => {
  const g = new IsolationGuard({ graceMs: 3_000 });
  t.true(g.mayAnnounce({ now: 1_000, reachable: 2, known: 5, apiOkAt: 0 }));
  t.true(
    g.mayAnnounce({ now: 3_500, reachable: 2, known: 5, apiOkAt: 0 }),
    'the API answered 3.5 s ago: isolation starts now',
  );
  t.is(g.isolatedSince, 3_500);
  t.true(g.mayAnnounce({ now: 6_000, reachable: 2, known: 5, apiOkAt: 0 }));
  t.false(g.mayAnnounce({ now: 6_500, reachable: 2, known: 5, apiOkAt: 0 }));
  // The API server answers again: it may announce at once.
  t.true(g.mayAnnounce({ now: 7_000, reachable: 2, known: 5, apiOkAt: 6_900 }));
});

test('2-node cluster: losing the peer, a node relies on the API server alone', (t) => {
  const g = new IsolationGuard();
  // One of two is not a majority.
  t.true(g.mayAnnounce({ now: 0, reachable: 1, known: 2, apiOkAt: 0 }));
  t.true(
    g.mayAnnounce({ now: 10_000, reachable: 1, known: 2, apiOkAt: 9_000 }),
    'still reaches the API server',
  );
  t.true(g.mayAnnounce({ now: 20_000, reachable: 1, known: 2, apiOkAt: 9_000 }), 'grace starts now');
  t.false(g.mayAnnounce({ now: 23_000, reachable: 1, known: 2, apiOkAt: 9_000 }));
});
