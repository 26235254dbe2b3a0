import test from 'ava';
import { VirtualClock } from '../../src/clock/index.ts';
import { Membership } from '../../src/mesh/membership.ts';
import type { DirectMessage, MemberSnapshot } from '../../src/mesh/messages.ts';
import { StaticPeerAuthority, type MeshTransport } from '../../src/mesh/transport.ts';

function member(): { m: Membership; sent: DirectMessage[] } {
  const sent: DirectMessage[] = [];
  const transport: MeshTransport = {
    send: (_to, _endpoint, msg) => sent.push(msg),
    broadcast: () => undefined,
  };
  const m = new Membership({
    node: 'a',
    clock: new VirtualClock(),
    transport,
    incarnation: 5,
    authority: new StaticPeerAuthority([['b', 'peer-b']]),
  });
  m.seed([{ node: 'b', state: 'alive', incarnation: 3 }]);
  m.start();
  return { m, sent };
}

interface Sent {
  to: string;
  msg: DirectMessage;
  path: string | undefined;
}

/**
 * Member 'a' seeded with `members`, recording what it sends (and revives);
 * random 0.5 takes the jitter out of its loops.
 */
function recorder(members: MemberSnapshot[]): {
  m: Membership;
  clock: VirtualClock;
  sent: Sent[];
  revived: string[];
} {
  const sent: Sent[] = [];
  const revived: string[] = [];
  const clock = new VirtualClock();
  const m = new Membership({
    node: 'a',
    clock,
    transport: {
      send: (to, _e, msg, path) => sent.push({ to, msg, path }),
      broadcast: () => undefined,
      revive: (to) => {
        revived.push(to);
        sent.push({ to, msg: { type: 'nack', seq: 0, from: 'marker' }, path: 'revive' });
      },
    },
    incarnation: 5,
    random: () => 0.5,
  });
  m.seed(members);
  m.start();
  return { m, clock, sent, revived };
}

test('the second copy of an answer is counted as a duplicate, not as unknown', (t) => {
  const { m, clock, sent } = recorder([{ node: 'b', state: 'alive', incarnation: 3 }]);
  clock.advance(m.config.probeIntervalMs);
  const ping = sent.find((s) => s.msg.type === 'ping');
  if (ping?.msg.type !== 'ping') return t.fail('no probe');
  const ack = { type: 'ack' as const, seq: ping.msg.seq, from: 'b', piggyback: [] };
  m.handle(ack, { urgent: true }); // the datagram
  m.handle(ack); // the stream copy
  t.is(m.stats.dropped.duplicate, 1);
  t.is(m.stats.dropped['unknown-seq'], undefined);
});

test('replayed or unknown acks are dropped and counted', (t) => {
  const { m } = member();
  m.handle({ type: 'ack', seq: 999, from: 'b', piggyback: [] });
  m.handle({ type: 'ack', seq: 999, from: 'b', piggyback: [] });
  t.is(m.stats.dropped['unknown-seq'], 2);
  t.is(m.stateOf('b'), 'alive');
});

test('stale incarnations are counted and change nothing', (t) => {
  const { m } = member();
  m.handle({
    type: 'gossip',
    from: 'c',
    updates: [{ kind: 'suspect', node: 'b', incarnation: 2, from: 'c' }],
  });
  t.is(m.stats.stale, 1);
  t.is(m.stateOf('b'), 'alive');
});

test('an alive update whose endpoint the authority does not allow is dropped', (t) => {
  const { m } = member();
  const forged = {
    kind: 'alive' as const,
    node: 'b',
    incarnation: 9,
    from: 'b',
    endpoint: { peerId: 'peer-x', addrs: [] },
  };
  m.handle({ type: 'gossip', from: 'b', updates: [forged] });
  t.is(m.stats.dropped['unauthorised-endpoint'], 1);
  t.is(m.get('b')?.incarnation, 3);
});

test('a ping for another target is dropped; a ping for us is acked', (t) => {
  const { m, sent } = member();
  m.handle({ type: 'ping', seq: 1, from: 'b', target: 'z', piggyback: [] });
  t.is(m.stats.dropped['wrong-target'], 1);
  m.handle({ type: 'ping', seq: 2, from: 'b', target: 'a', piggyback: [] });
  t.true(sent.some((s) => s.type === 'ack' && s.seq === 2));
});

test('a probe from a member we never heard of asks it for a push-pull, at most once per reconnect interval', (t) => {
  const { m, clock, sent } = recorder([{ node: 'b', state: 'alive', incarnation: 3 }]);
  const syncsTo = (to: string): number =>
    sent.filter((s) => s.to === to && s.msg.type === 'push-pull' && !s.msg.reply).length;
  // The join gossip of c missed us; c probes us (it learnt of us from its seed).
  m.handle({ type: 'ping', seq: 1, from: 'c', target: 'a', piggyback: [] });
  m.handle({ type: 'ping-req', seq: 2, from: 'c', target: 'b' });
  t.is(syncsTo('c'), 1);
  t.is(syncsTo('b'), 0, 'a known member is not asked');
  clock.advance(m.config.reconnectIntervalMs);
  m.handle({ type: 'ping', seq: 3, from: 'c', target: 'a', piggyback: [] });
  t.is(syncsTo('c'), 2, 'asked again after the interval (the first reply was lost)');
  // Its reply makes it known: no more questions.
  m.handle({
    type: 'push-pull',
    from: 'c',
    join: false,
    reply: true,
    members: [{ node: 'c', state: 'alive', incarnation: 1 }],
    claims: [],
  });
  t.is(m.stateOf('c'), 'alive');
  clock.advance(m.config.reconnectIntervalMs);
  m.handle({ type: 'ping', seq: 4, from: 'c', target: 'a', piggyback: [] });
  t.is(syncsTo('c'), 2);
});

test('a member believed dead is pinged by datagram only; its answer revives the connection before the push-pull', (t) => {
  const { m, clock, sent, revived } = recorder([{ node: 'b', state: 'dead', incarnation: 3 }]);
  clock.advance(m.config.healPingIntervalMs); // random 0.5: the loops run without jitter
  const ping = sent.find((s) => s.to === 'b' && s.msg.type === 'ping');
  if (ping?.msg.type !== 'ping') return t.fail('no reconnect ping');
  t.is(ping.path, 'datagram');
  m.handle({ type: 'ack', seq: ping.msg.seq, from: 'b', piggyback: [] });
  t.deepEqual(revived, ['b']);
  const i = sent.findIndex((s) => s.path === 'revive');
  const pp = sent.findIndex((s) => s.to === 'b' && s.msg.type === 'push-pull');
  t.true(i >= 0 && pp > i, 'the push-pull goes after the revive');
  t.is(sent[pp]?.path, 'stream');
});

test('probes and their ping-reqs go both ways (datagram and stream); push-pull on the stream', (t) => {
  const { m, clock, sent } = recorder([
    { node: 'b', state: 'alive', incarnation: 3 },
    { node: 'c', state: 'alive', incarnation: 3 },
  ]);
  clock.advance(m.config.probeIntervalMs + m.config.probeTimeoutMs + 1);
  const pings = sent.filter((s) => s.msg.type === 'ping');
  const reqs = sent.filter((s) => s.msg.type === 'ping-req');
  t.true(pings.length > 0 && reqs.length > 0);
  t.true([...pings, ...reqs].every((s) => s.path === 'both'));
  m.join([{ peerId: 'p', addrs: [] }]);
  t.true(
    sent.filter((s) => s.msg.type === 'push-pull').every((s) => s.path === undefined || s.path === 'stream'),
  );
});

test('a check goes as a datagram alone once a datagram answered, with the stream copy after a close or a failed check; answers go the way their question came', (t) => {
  const { m, clock, sent } = recorder([
    { node: 'b', state: 'alive', incarnation: 3 },
    { node: 'c', state: 'alive', incarnation: 3 },
  ]);
  const opts = { pings: 1, timeoutMs: 25, indirectTimeoutMs: 40 };
  const check = (): Sent | undefined => {
    const from = sent.length;
    m.check('b', opts, () => undefined);
    return sent.slice(from).find((s) => s.msg.type === 'ping' && s.to === 'b');
  };
  const answer = (s: Sent | undefined, urgent: boolean): void => {
    if (s?.msg.type !== 'ping') throw new Error('no ping');
    m.handle({ type: 'ack', seq: s.msg.seq, from: 'b', piggyback: [] }, { urgent });
  };
  const first = check();
  t.is(first?.path, 'both', 'nothing vouches for the datagram path yet');
  answer(first, false);
  t.is(check()?.path, 'both', 'an answer on the stream does not vouch for datagrams');
  answer(sent.at(-1), true);
  const trusted = check();
  t.is(trusted?.path, 'datagram');
  answer(trusted, true);
  m.hint('b'); // its connection closed
  const afterClose = check();
  t.is(afterClose?.path, 'both', 'after a close the stream copy notices a refused dial');
  answer(afterClose, false); // the stream works again
  t.is(check()?.path, 'datagram');
  clock.advance(5_001);
  t.is(check()?.path, 'both', 'the vouching wears off');
  const from = sent.length;
  m.check('b', { ...opts, pings: 3, parallel: true }, () => undefined);
  t.true(
    sent
      .slice(from)
      .filter((s) => s.msg.type === 'ping')
      .every((s) => s.path === 'both'),
    'confirming checks send both',
  );
  // Answers: a datagram question is answered by a datagram, a stream copy on the stream.
  const at = sent.length;
  m.handle({ type: 'ping', seq: 900, from: 'c', target: 'a', piggyback: [] }, { urgent: true });
  m.handle({ type: 'ping', seq: 900, from: 'c', target: 'a', piggyback: [] });
  t.deepEqual(
    sent
      .slice(at)
      .filter((s) => s.msg.type === 'ack')
      .map((s) => s.path),
    ['datagram', 'stream'],
  );
});

test('a member believed dead that gossip says is alive is reached directly (push-pull on its answer), and the other dead are swept', (t) => {
  const { m, clock, sent, revived } = recorder(
    ['b', 'c', 'd'].map((node) => ({ node, state: 'dead' as const, incarnation: 3 })),
  );
  const pingsTo = (to: string): Sent[] => sent.filter((s) => s.to === to && s.msg.type === 'ping');
  m.handle({ type: 'gossip', from: 'e', updates: [{ kind: 'alive', node: 'b', incarnation: 4, from: 'b' }] });
  t.is(m.stateOf('b'), 'alive');
  for (const n of ['b', 'c', 'd']) t.is(pingsTo(n).length, 1, `${n} pinged at once`);
  t.true(['b', 'c', 'd'].every((n) => pingsTo(n)[0]?.path === 'datagram'));
  const ping = pingsTo('b')[0];
  if (ping?.msg.type !== 'ping') return t.fail('no ping to b');
  m.handle({ type: 'ack', seq: ping.msg.seq, from: 'b', piggyback: [] });
  t.deepEqual(revived, ['b']);
  t.true(sent.some((s) => s.to === 'b' && s.msg.type === 'push-pull'));
  // Its push-pull reply (c alive again, told by b) makes no second round with b.
  clock.advance(m.config.probeIntervalMs + 1);
  const before = pingsTo('b').length;
  m.handle({
    type: 'push-pull',
    from: 'b',
    join: false,
    reply: true,
    members: [{ node: 'c', state: 'alive', incarnation: 4 }],
    claims: [],
  });
  t.is(pingsTo('b').length, before, 'b was just synced: not pinged again');
  t.is(pingsTo('c').length, 2, 'c (its sweep ping went unanswered) is reached for its own push-pull');
});

test('a ping to a member we suspect carries the suspicion; the accused refutes on its answer', (t) => {
  const { m: a, sent } = recorder([{ node: 'b', state: 'suspect', incarnation: 3 }]);
  a.check('b', { pings: 1, timeoutMs: 25, indirectTimeoutMs: 40 }, () => undefined);
  const ping = sent.find((s) => s.to === 'b' && s.msg.type === 'ping');
  if (ping?.msg.type !== 'ping') return t.fail('no ping');
  t.like(ping.msg.piggyback[0], { kind: 'suspect', node: 'b', incarnation: 3 });
  // b's side: it had not heard of the suspicion (spent on a's side of a partition).
  const bSent: DirectMessage[] = [];
  const b = new Membership({
    node: 'b',
    clock: new VirtualClock(),
    transport: { send: (_to, _e, msg) => bSent.push(msg), broadcast: () => undefined },
    incarnation: 3,
  });
  b.seed([{ node: 'a', state: 'alive', incarnation: 5 }]);
  b.start();
  b.handle({ ...ping.msg, target: 'b' });
  const ack = bSent.find((x) => x.type === 'ack');
  if (ack?.type !== 'ack') return t.fail('no ack');
  t.true(ack.piggyback.some((u) => u.kind === 'alive' && u.node === 'b' && u.incarnation === 4));
  a.handle(ack);
  t.is(a.stateOf('b'), 'alive', 'refuted by the answer itself');
});

test('every member believed dead is pinged each heal-ping interval; one that answers or pings us sets off a sweep at once', (t) => {
  const { m, clock, sent } = recorder(
    ['b', 'c', 'd'].map((node) => ({ node, state: 'dead' as const, incarnation: 3 })),
  );
  const pingsTo = (to: string): number => sent.filter((s) => s.to === to && s.msg.type === 'ping').length;
  clock.advance(m.config.healPingIntervalMs);
  t.deepEqual(['b', 'c', 'd'].map(pingsTo), [1, 1, 1], 'each dead member pinged');
  const pings = sent.filter((s) => s.msg.type === 'ping');
  t.true(pings.every((s) => s.path === 'datagram'));
  t.true(
    pings.every((s) => s.msg.type === 'ping' && s.msg.piggyback.length === 0),
    'pings into a partition carry nothing (they would use up retransmissions)',
  );
  // Their reconnects expire; before the next interval, a ping from b sets off a sweep.
  clock.advance(m.config.probeTimeoutMs + 1);
  m.handle({ type: 'ping', seq: 77, from: 'b', target: 'a', piggyback: [] });
  t.deepEqual(['c', 'd'].map(pingsTo), [2, 2], 'the rest pinged at once, not at the next interval');
  // Within the same probe interval a second trigger does nothing more.
  m.handle({ type: 'ping', seq: 78, from: 'c', target: 'a', piggyback: [] });
  t.deepEqual(['c', 'd'].map(pingsTo), [2, 2]);
});

test('in a large mesh each member pings only ceil(32 / N) of those it believes dead per interval', (t) => {
  const members: MemberSnapshot[] = Array.from({ length: 63 }, (_, i) => ({
    node: `m${i}`,
    state: i < 20 ? ('dead' as const) : ('alive' as const),
    incarnation: 1,
  }));
  const { m, clock, sent } = recorder(members);
  const deadPings = (): number =>
    sent.filter((x) => x.msg.type === 'ping' && Number(x.to.slice(1)) < 20 && x.path === 'datagram').length;
  clock.advance(m.config.healPingIntervalMs);
  t.is(deadPings(), 1, '64 members: one ping into the dead per interval');
});

test('accusations from a member believed dead, or back from it a moment ago, are dropped; about ourselves we still refute', (t) => {
  const { m, clock } = recorder([
    { node: 'b', state: 'alive', incarnation: 3 },
    { node: 'c', state: 'dead', incarnation: 3 },
  ]);
  // Queued on the far side of a partition, delivered after the heal.
  m.handle({ type: 'gossip', from: 'c', updates: [{ kind: 'dead', node: 'b', incarnation: 3, from: 'c' }] });
  m.handle({
    type: 'gossip',
    from: 'c',
    updates: [{ kind: 'suspect', node: 'b', incarnation: 3, from: 'c' }],
  });
  // Its view in a push-pull (b dead there) while it is still dead here.
  m.handle({
    type: 'push-pull',
    from: 'c',
    join: false,
    reply: false,
    members: [
      { node: 'b', state: 'dead', incarnation: 3 },
      { node: 'c', state: 'alive', incarnation: 3 },
    ],
    claims: [],
  });
  t.is(m.stateOf('b'), 'alive');
  t.is(m.stats.dropped['accuser-dead'], 3);
  // About ourselves: refute (the far side must learn we are alive).
  m.handle({ type: 'gossip', from: 'c', updates: [{ kind: 'dead', node: 'a', incarnation: 5, from: 'c' }] });
  t.is(m.incarnation, 6);
  // Back from the dead (a higher incarnation, first in its push-pull): the
  // verdicts it carries from the split still do not count...
  m.handle({
    type: 'push-pull',
    from: 'c',
    join: false,
    reply: true,
    members: [
      { node: 'b', state: 'suspect', incarnation: 3 },
      { node: 'c', state: 'alive', incarnation: 4 },
    ],
    claims: [],
  });
  t.is(m.stateOf('c'), 'alive');
  t.is(m.stateOf('b'), 'alive');
  t.is(m.stats.dropped['accuser-dead'], 4);
  // ...and once it has been back for a reconnect interval, its word counts again.
  clock.advance(m.config.reconnectIntervalMs);
  m.handle({
    type: 'gossip',
    from: 'c',
    updates: [{ kind: 'suspect', node: 'b', incarnation: 3, from: 'c' }],
  });
  t.is(m.stateOf('b'), 'suspect');
});

test('a transport that throws loses the message, not the protocol: the probe times out as if lost, and rounds go on', (t) => {
  const errors: string[] = [];
  let fail = true;
  const sent: DirectMessage[] = [];
  const clock = new VirtualClock();
  const m = new Membership({
    node: 'a',
    clock,
    transport: {
      send: (_to, _e, msg) => {
        if (fail && msg.type === 'ping') {
          fail = false;
          throw new Error('transport bug');
        }
        sent.push(msg);
      },
      broadcast: () => undefined,
    },
    incarnation: 5,
    random: () => 0.5,
    onError: (err, where) => errors.push(`${where}: ${(err as Error).message}`),
  });
  m.seed([{ node: 'b', state: 'alive', incarnation: 3 }]);
  m.start();
  clock.advance(m.config.probeIntervalMs); // the first probe's ping throws
  t.deepEqual(errors, ['send: transport bug']);
  t.is(m.stats.sendErrors, 1);
  clock.advance(m.config.probeIntervalMs * 3);
  t.true(
    sent.some((msg) => msg.type === 'ping'),
    'b was probed again',
  );
  m.stop();
});

test('a tick that throws does not end the loop: it is counted, reported, and the next tick runs', (t) => {
  const errors: string[] = [];
  const clock = new VirtualClock();
  let throws = 1;
  // b answers every ping at once, so it stays alive and push-pulls go to it.
  const m: Membership = new Membership({
    node: 'a',
    clock,
    transport: {
      send: (_to, _e, msg) => {
        if (msg.type === 'ping')
          m.handle({ type: 'ack', seq: msg.seq, from: 'b', piggyback: [] }, { urgent: true });
      },
      broadcast: () => undefined,
    },
    incarnation: 5,
    random: () => 0.5,
    // The push-pull tick reads the claims; a store that throws once breaks one tick.
    claims: {
      all: () => {
        if (throws-- > 0) throw new Error('claim store bug');
        return [];
      },
      merge: () => undefined,
    },
    onError: (err, where) => errors.push(`${where}: ${(err as Error).message}`),
  });
  m.seed([{ node: 'b', state: 'alive', incarnation: 3 }]);
  m.start();
  clock.advance(120_000);
  t.true(m.stats.loopErrors >= 1, `loop errors ${m.stats.loopErrors}`);
  t.true(errors.includes('tick: claim store bug'), errors.join('; '));
  t.true(m.stats.pushPulls >= 2, `push-pulls went on: ${m.stats.pushPulls}`);
  m.stop();
});
