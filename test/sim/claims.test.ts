import test from 'ava';
import { claimWins } from '../../src/election/claims.ts';
import type { MeshClaim } from '../../src/mesh/index.ts';
import { SimNetwork } from '../../src/mesh/sim/index.ts';
import { MapClaimStore } from '../helpers/claim-store.ts';

/** A simulated network whose members each keep a MapClaimStore (a restarted member gets a fresh one). */
function network(seed: number): { net: SimNetwork; store: (name: string) => MapClaimStore } {
  const stores = new Map<string, MapClaimStore>();
  const net = new SimNetwork({
    seed,
    claimStore: (name) => {
      const s = new MapClaimStore();
      stores.set(name, s);
      return s;
    },
  });
  const store = (name: string): MapClaimStore => {
    const s = stores.get(name);
    if (s === undefined) throw new Error(`no store for ${name}`);
    return s;
  };
  return { net, store };
}

/** What the speaker does on a decision of its own: record the claim, then publish it. */
function announce(net: SimNetwork, store: (name: string) => MapClaimStore, claims: MeshClaim[]): void {
  for (const c of claims) store(c.node).own(c);
  const node = claims[0]?.node ?? '';
  net.members.get(node)?.core.publishClaims(claims);
}

const standing = (s: MapClaimStore, ip: string): string | undefined => {
  const c = s.claims.get(ip);
  return c === undefined ? undefined : `${c.node}@${c.epoch}`;
};

test('claims published by gossip reach every member’s store within a few hops', (t) => {
  const { net, store } = network(31);
  const members = net.addConverged(20);
  net.run(500);
  const claims: MeshClaim[] = [
    { ip: '10.0.0.1', node: 'node-3', epoch: 1 },
    { ip: 'fd00::1', node: 'node-3', epoch: 4 },
  ];
  const start = net.clock.now();
  announce(net, store, claims);
  const everywhere = () =>
    members.every(
      (m) =>
        standing(store(m.name), '10.0.0.1') === 'node-3@1' &&
        standing(store(m.name), 'fd00::1') === 'node-3@4',
    );
  const at = net.runUntil(everywhere, 1_000);
  t.not(at, undefined);
  t.log(`every store has both claims after ${((at ?? 0) - start).toFixed(1)} ms`);
  const n3 = net.members.get('node-3')?.core;
  t.is(n3?.stats.messagesSent.claims, 1);
  for (const m of members) {
    if (m.name === 'node-3') continue;
    t.true(store(m.name).saw(claims[0] as MeshClaim, 'gossip'));
    t.is(m.core.stats.messagesReceived.claims, 1);
  }
});

test('a gossip claim naming another node is dropped and counted; the sender’s own claim is kept', (t) => {
  const { net, store } = network(32);
  const [a] = net.addConverged(3);
  if (a === undefined) throw new Error('setup');
  a.core.handle({
    type: 'claims',
    from: 'node-1',
    claims: [
      { ip: '10.0.0.1', node: 'node-1', epoch: 1 },
      { ip: '10.0.0.2', node: 'node-2', epoch: 9 },
    ],
  });
  t.is(a.core.stats.dropped['claim-not-own'], 1);
  t.is(standing(store('node-0'), '10.0.0.1'), 'node-1@1');
  t.is(store('node-0').claims.get('10.0.0.2'), undefined);
  // A message of nothing but others' claims reaches the store not at all.
  a.core.handle({ type: 'claims', from: 'node-1', claims: [{ ip: '10.0.0.3', node: 'node-2', epoch: 1 }] });
  t.is(a.core.stats.dropped['claim-not-own'], 2);
  t.is(store('node-0').deliveries.length, 1);
});

test('a member that joins late learns the standing claims in its first sync, then is synced', (t) => {
  const { net, store } = network(33);
  net.addConverged(8);
  net.run(500);
  announce(net, store, [{ ip: '10.0.0.7', node: 'node-2', epoch: 3 }]);
  announce(net, store, [{ ip: '10.0.0.8', node: 'node-5', epoch: 1 }]);
  net.run(1_000);
  const late = net.join('late', 'node-0', 1_000);
  t.false(late.core.synced);
  let atSync: (string | undefined)[] | undefined;
  late.core.onSynced((e) => {
    t.is(e.via, 'push-pull');
    t.is(e.from, 'node-0');
    // The claims of the reply are merged before the speaker is told.
    atSync = [standing(store('late'), '10.0.0.7'), standing(store('late'), '10.0.0.8')];
  });
  const at = net.runUntil(() => late.core.synced, 1_000);
  t.not(at, undefined);
  t.deepEqual(atSync, ['node-2@3', 'node-5@1']);
  t.true(store('late').saw({ ip: '10.0.0.7', node: 'node-2', epoch: 3 }, 'push-pull'));
  t.is(store('late').deliveries[0]?.from, 'node-0');
});

test('a restarted member learns its own earlier claims back from push-pull', (t) => {
  const { net, store } = network(34);
  net.addConverged(6);
  net.run(500);
  announce(net, store, [{ ip: '10.0.0.9', node: 'node-4', epoch: 2 }]);
  net.run(500);
  net.crash('node-4');
  net.run(100);
  const back = net.restart('node-4', 'node-0');
  t.truthy(net.runUntil(() => back.core.synced, 1_000));
  t.is(standing(store('node-4'), '10.0.0.9'), 'node-4@2');
});

test('two sides of a healed partition exchange their rival claims by push-pull and settle on one', (t) => {
  const { net, store } = network(35);
  const members = net.addConverged(10);
  net.run(500);
  const names = members.map((m) => m.name);
  const [left, right] = [names.slice(0, 5), names.slice(5)];
  net.partition([left, right]);
  const seesDead = (side: string[], other: string) => () =>
    side.every((n) => net.members.get(n)?.core.stateOf(other) === 'dead');
  t.truthy(net.runUntil(seesDead(left, 'node-7'), 10_000));
  t.truthy(net.runUntil(seesDead(right, 'node-1'), 10_000));
  // Each side took the IP over once, from the same earlier epoch.
  const a: MeshClaim = { ip: '192.0.2.10', node: 'node-1', epoch: 2 };
  const b: MeshClaim = { ip: '192.0.2.10', node: 'node-7', epoch: 2 };
  announce(net, store, [a]);
  announce(net, store, [b]);
  net.run(1_000);
  t.true(left.every((n) => standing(store(n), a.ip) === 'node-1@2'));
  t.true(right.every((n) => standing(store(n), a.ip) === 'node-7@2'));

  const healAt = net.clock.now();
  net.heal();
  const exchanged = net.runUntil(
    () => left.some((n) => store(n).saw(b, 'push-pull')) && right.some((n) => store(n).saw(a, 'push-pull')),
    5_000,
  );
  t.not(exchanged, undefined, 'each side received the other’s claim by push-pull');
  const winner = claimWins(a, b) ? a : b;
  const settled = net.runUntil(
    () => names.every((n) => standing(store(n), a.ip) === `${winner.node}@2`),
    10_000,
    5,
  );
  t.not(settled, undefined, 'every store settles on the same claim');
  t.log(
    `exchanged ${((exchanged ?? 0) - healAt).toFixed(0)} ms after heal; all settled on ${winner.node} after ${((settled ?? 0) - healAt).toFixed(0)} ms`,
  );
  // The loser itself learnt it within seconds (refutations re-publish claims), not a push-pull interval.
  t.true((settled ?? Infinity) - healAt < 5_000);
});
