import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import {
  ForeignClaimError,
  MAX_CLAIMS,
  MAX_GOSSIP_CLAIMS,
  MeshCodecError,
  Membership,
  type ClaimStore,
  type MeshClaim,
  type MeshTransport,
  type SyncedEvent,
} from '../../src/mesh/index.ts';
import type { BroadcastMessage, DirectMessage, PushPull } from '../../src/mesh/messages.ts';
import { MapClaimStore } from '../helpers/claim-store.ts';

function member(claims?: ClaimStore): {
  m: Membership;
  clock: VirtualClock;
  sent: DirectMessage[];
  broadcasts: BroadcastMessage[];
} {
  const sent: DirectMessage[] = [];
  const broadcasts: BroadcastMessage[] = [];
  const transport: MeshTransport = {
    send: (_to, _endpoint, msg) => sent.push(msg),
    broadcast: (msg) => broadcasts.push(msg),
  };
  const clock = new VirtualClock();
  const m = new Membership({
    node: 'a',
    clock,
    transport,
    incarnation: 5,
    ...(claims === undefined ? {} : { claims }),
  });
  m.seed([{ node: 'b', state: 'alive', incarnation: 3 }]);
  m.start();
  return { m, clock, sent, broadcasts };
}

const claim = (i: number, node = 'a'): MeshClaim => ({ ip: `10.0.${i >> 8}.${i & 0xff}`, node, epoch: 1 });
const claimsSent = (bs: BroadcastMessage[]) => bs.filter((b) => b.type === 'claims');
const reply = (claims: MeshClaim[]): PushPull => ({
  type: 'push-pull',
  from: 'b',
  join: false,
  reply: true,
  members: [{ node: 'b', state: 'alive', incarnation: 3 }],
  claims,
});

test('join([]) makes the first member of a cluster synced at once', (t) => {
  const { m } = member(new MapClaimStore());
  const events: SyncedEvent[] = [];
  m.onSynced((e) => events.push(e));
  t.false(m.synced);
  m.join([]);
  t.true(m.synced);
  t.is(events.length, 1);
  t.is(events[0]?.via, 'local');
  t.is(events[0]?.from, undefined);
});

test('a member that joins through seeds is synced by the first push-pull reply, not by a request', (t) => {
  const store = new MapClaimStore();
  const { m, sent } = member(store);
  const events: SyncedEvent[] = [];
  m.onSynced((e) => events.push(e));
  m.join([{ peerId: 'peer-b', addrs: ['/x'] }]);
  t.false(m.synced);
  t.true(sent.some((s) => s.type === 'push-pull' && s.join));
  // A push-pull request from someone else is not the answer to ours.
  m.handle({ ...reply([claim(1, 'b')]), reply: false });
  t.false(m.synced);
  m.handle(reply([claim(2, 'b')]));
  t.true(m.synced);
  t.deepEqual(
    events.map((e) => [e.via, e.from]),
    [['push-pull', 'b']],
  );
  // Later replies change nothing: synced once, told once.
  m.handle(reply([]));
  t.is(events.length, 1);
  t.deepEqual(
    store.deliveries.map((d) => [d.via, d.from]),
    [
      ['push-pull', 'b'],
      ['push-pull', 'b'],
    ],
  );
});

test('a join whose push-pulls are all lost is asked again each reconnect interval until a reply comes', (t) => {
  const { m, clock, sent } = member(new MapClaimStore());
  const joins = (): number => sent.filter((s) => s.type === 'push-pull' && s.join).length;
  m.join([{ peerId: 'peer-b', addrs: ['/x'] }]);
  t.is(joins(), 1);
  // Nothing answers: asked again after reconnectIntervalMs (at the next
  // reconnect tick, every healPingIntervalMs ±10 %), not before.
  const start = clock.now();
  while (joins() === 1 && clock.now() - start < 10_000) clock.advance(10);
  const waited = clock.now() - start;
  t.is(joins(), 2);
  t.true(waited >= m.config.reconnectIntervalMs, `asked again after ${waited} ms`);
  t.true(
    waited <= m.config.reconnectIntervalMs + 1.1 * m.config.healPingIntervalMs + 10,
    `after ${waited} ms`,
  );
  t.is(m.stats.joinRetries, 1);
  m.handle(reply([]));
  t.true(m.synced);
  const after = sent.length;
  clock.advance(m.config.reconnectIntervalMs * 5);
  t.is(sent.filter((s, i) => i >= after && s.type === 'push-pull').length, 0, 'synced: no more asking');
  t.is(m.stats.joinRetries, 1);
});

test('push-pull carries every claim of the store, relayed ones too; the reply to a request does', (t) => {
  const store = new MapClaimStore();
  store.own(claim(1));
  store.merge([claim(2, 'c')], 'c', 'gossip');
  const { m, sent } = member(store);
  m.handle({ ...reply([]), reply: false });
  const answer = sent.find((s): s is PushPull => s.type === 'push-pull' && s.reply);
  t.deepEqual(answer?.claims, [claim(1), claim(2, 'c')]);
});

test('a store with more than MAX_CLAIMS claims: push-pull carries the first MAX_CLAIMS, counted', (t) => {
  const many: MeshClaim[] = Array.from({ length: MAX_CLAIMS + 5 }, (_, i) => claim(i));
  const { m, sent } = member({ all: () => many, merge: () => undefined });
  m.handle({ ...reply([]), reply: false });
  const answer = sent.find((s): s is PushPull => s.type === 'push-pull');
  t.is(answer?.claims.length, MAX_CLAIMS);
  t.is(m.stats.dropped['claims-over-limit'], 1);
});

test('publishClaims sends own claims in messages of at most MAX_GOSSIP_CLAIMS, counted as sent', (t) => {
  const { m, broadcasts } = member(new MapClaimStore());
  const mine = Array.from({ length: MAX_GOSSIP_CLAIMS * 2 + 1 }, (_, i) => claim(i));
  m.publishClaims(mine);
  const out = claimsSent(broadcasts);
  t.deepEqual(
    out.map((b) => b.claims.length),
    [MAX_GOSSIP_CLAIMS, MAX_GOSSIP_CLAIMS, 1],
  );
  t.deepEqual(
    out.flatMap((b) => b.claims),
    mine,
  );
  t.is(m.stats.messagesSent.claims, 3);
  m.publishClaims([]);
  t.is(claimsSent(broadcasts).length, 3, 'nothing to say, nothing sent');
});

test('publishClaims throws for a claim of another node or one the codec cannot carry, and sends none', (t) => {
  const { m, broadcasts } = member(new MapClaimStore());
  const err = t.throws(
    () => {
      m.publishClaims([claim(1), claim(2, 'b')]);
    },
    { instanceOf: ForeignClaimError },
  );
  t.is(err.name, 'ForeignClaimError');
  t.is(err.claim.node, 'b');
  const bad = t.throws(
    () => {
      m.publishClaims([claim(1), { ip: '', node: 'a', epoch: 1 }]);
    },
    { instanceOf: MeshCodecError },
  );
  t.is(bad.code, 'invalid');
  t.is(claimsSent(broadcasts).length, 0);
});

test('publishClaims also sends the claims directly to the members named (not itself, not the dead, each once)', (t) => {
  const { m, sent, broadcasts } = member(new MapClaimStore());
  m.seed([
    { node: 'c', state: 'dead', incarnation: 1 },
    { node: 'd', state: 'left', incarnation: 1 },
  ]);
  m.publishClaims([claim(1), claim(2)], { alsoTo: ['b', 'b', 'a', 'c', 'd', 'unknown'] });
  t.is(claimsSent(broadcasts).length, 1, 'the gossip copy');
  const direct = sent.filter((x) => x.type === 'claims');
  t.is(direct.length, 2, "b (alive) and d (left: a holder handing off waits for its successor's claim)");
  t.true(direct.every((x) => x.claims.length === 2));
});

test('after leave() publishClaims sends nothing', (t) => {
  const { m, broadcasts } = member(new MapClaimStore());
  m.leave();
  m.publishClaims([claim(1)]);
  t.is(claimsSent(broadcasts).length, 0);
});

test('gossip claims: own ones reach the store and are counted received; others are dropped', (t) => {
  const store = new MapClaimStore();
  const { m } = member(store);
  m.handle({ type: 'claims', from: 'b', claims: [claim(1, 'b'), claim(2, 'c'), claim(3, 'a')] });
  t.deepEqual(store.deliveries, [{ claims: [claim(1, 'b')], from: 'b', via: 'gossip' }]);
  t.is(m.stats.dropped['claim-not-own'], 2);
  t.is(m.stats.messagesReceived.claims, 1);
});

test('without a store, claims received are dropped and counted, and push-pull carries none', (t) => {
  const { m, sent } = member();
  m.handle({ type: 'claims', from: 'b', claims: [claim(1, 'b')] });
  m.handle({ ...reply([claim(2, 'b')]), reply: false });
  t.is(m.stats.dropped['no-claim-store'], 2);
  const answer = sent.find((s): s is PushPull => s.type === 'push-pull');
  t.deepEqual(answer?.claims, []);
});

test('a member that refutes a suspicion re-publishes its own standing claims (not relayed ones)', (t) => {
  const store = new MapClaimStore();
  store.own(claim(1));
  store.merge([claim(2, 'b')], 'b', 'gossip');
  const { m, broadcasts } = member(store);
  m.handle({
    type: 'gossip',
    from: 'b',
    updates: [{ kind: 'suspect', node: 'a', incarnation: 5, from: 'b' }],
  });
  t.is(m.incarnation, 6);
  const out = claimsSent(broadcasts);
  t.deepEqual(out, [{ type: 'claims', from: 'a', claims: [claim(1)] }]);
});
