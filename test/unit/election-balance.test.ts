// Bounded-load placement (src/election/balance.ts) through decide() and explain().
import test from 'ava';
import fc from 'fast-check';
import { decide, explain } from '../../src/election/index.ts';
import type { Claim, ServiceIp, World } from '../../src/election/index.ts';
import { loadCap } from '../../src/election/balance.ts';
import type { MemberState } from '../../src/mesh/messages.ts';
import { EVERY_NODE, readyNode } from '../../lab/testbed/election-world.ts';

function world(nodes: number, ips: number, slack = 0.25): World {
  const names = Array.from({ length: nodes }, (_, i) => `n${i}`);
  return {
    nodes: new Map(names.map((n) => [n, readyNode(n)])),
    members: new Map(names.map((n) => [n, 'alive'])),
    advertisements: [EVERY_NODE],
    ips: Array.from({ length: ips }, (_, i): ServiceIp => ({
      ip: `10.0.${i >> 8}.${i & 255}`,
      pool: 'default',
    })),
    claims: new Map(),
    balance: { slack },
  };
}

/** What the speakers reach when every announcer publishes its claim: decide, claim, until nothing changes. */
function settle(w: World): World {
  let cur = w;
  for (let round = 0; round < 20; round++) {
    const claims = new Map<string, Claim>();
    for (const d of decide(cur)) if (d.claim !== undefined) claims.set(d.ip, d.claim);
    const same =
      claims.size === cur.claims.size &&
      [...claims].every(
        ([ip, c]) => cur.claims.get(ip)?.node === c.node && cur.claims.get(ip)?.epoch === c.epoch,
      );
    cur = { ...cur, claims };
    if (same) return cur;
  }
  throw new Error('did not settle in 20 rounds');
}

function loads(w: World): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of decide(w))
    if (d.announcer !== undefined) out.set(d.announcer, (out.get(d.announcer) ?? 0) + 1);
  return out;
}

function dead(w: World, node: string): World {
  return { ...w, members: new Map<string, MemberState>([...w.members, [node, 'dead']]) };
}

const announcers = (w: World): Map<string, string | undefined> =>
  new Map(decide(w).map((d) => [d.ip, d.announcer]));

const shapeArb = fc.record({
  nodes: fc.integer({ min: 1, max: 12 }),
  ips: fc.integer({ min: 1, max: 60 }),
  slack: fc.constantFrom(0, 0.1, 0.25, 1),
});

test('loadCap: (1 + slack) times the even share rounded down, never below the share rounded up', (t) => {
  t.is(loadCap(6, 5, 0.25), 2, '6 on 5: one node needs 2');
  t.is(loadCap(100, 5, 0.25), 25);
  t.is(loadCap(100, 20, 0.25), 6, 'not 7: 1.2× the mean fits');
  t.is(loadCap(100, 100, 0.25), 1, 'one each: perfectly even');
  t.is(loadCap(100, 3, 0), 34);
  t.is(loadCap(100, 10, 0.1), 11, 'no float error: 1.1 · 10 is 11.000000000000002');
  t.is(loadCap(20, 1, 0.15), 23, 'no float error: 1.15 · 20 is 22.999999999999996');
  t.is(loadCap(3, 0, 0.25), Number.POSITIVE_INFINITY);
});

test('max/mean stays within 1 + slack wherever whole addresses allow it', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 200 }), (a, n) => {
      const cap = loadCap(a, n, 0.25);
      const share = a / n;
      return cap * n >= a && (cap / share <= 1.25 + 1e-9 || cap === Math.ceil(share));
    }),
  );
  t.pass();
});

test('no node announces more than the bound, from a cold start or any claims', (t) => {
  fc.assert(
    fc.property(shapeArb, fc.array(fc.nat(), { maxLength: 60 }), ({ nodes, ips, slack }, owners) => {
      const w0 = world(nodes, ips, slack);
      // Arbitrary standing claims (one node grabbed everything, or any mix).
      const claims = new Map<string, Claim>();
      w0.ips.forEach((ip, i) => {
        const o = owners[i];
        if (o !== undefined) claims.set(ip.ip, { ip: ip.ip, node: `n${o % nodes}`, epoch: 1 });
      });
      const cap = loadCap(ips, nodes, slack);
      const once = loads({ ...w0, claims });
      const settled = loads(settle({ ...w0, claims }));
      return [...once.values(), ...settled.values()].every((n) => n <= cap);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a cold start where the first speaker grabbed every address moves only the excess, as rebalances', (t) => {
  const w0 = world(5, 6);
  const claims = new Map(w0.ips.map((ip): [string, Claim] => [ip.ip, { ip: ip.ip, node: 'n0', epoch: 1 }]));
  const ds = decide({ ...w0, claims });
  const moved = ds.filter((d) => d.announcer !== 'n0');
  t.is(moved.length, 6 - loadCap(6, 5, 0.25), 'n0 keeps 2, 4 move');
  t.true(moved.every((d) => d.cause === 'rebalance' && d.previous === 'n0' && d.claim?.epoch === 2));
  t.true([...loads(settle({ ...w0, claims })).values()].every((n) => n <= 2));
});

test('a failed node moves only its own addresses, each to its first heir, and the bound holds after', (t) => {
  fc.assert(
    fc.property(shapeArb, fc.nat(), ({ nodes, ips, slack }, pick) => {
      if (nodes < 2) return true;
      const w = settle(world(nodes, ips, slack));
      const ds = decide(w);
      const victim = `n${pick % nodes}`;
      const after = announcers(dead(w, victim));
      for (const d of ds) {
        const now = after.get(d.ip);
        if (d.announcer !== victim && now !== d.announcer) return false; // moved what it need not
        if (d.announcer === victim && now !== d.heirs[0]) return false; // the heir that watched is the taker
      }
      const cap = loadCap(ips, nodes - 1, slack);
      return [...loads(settle(dead(w, victim))).values()].every((n) => n <= cap);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('while a failover is under way, one heir having claimed its part changes no other decision', (t) => {
  fc.assert(
    fc.property(shapeArb, fc.nat(), fc.nat(), ({ nodes, ips, slack }, pick, pickHeir) => {
      if (nodes < 3) return true;
      const w = settle(world(nodes, ips, slack));
      const victim = `n${pick % nodes}`;
      const failed = dead(w, victim);
      const before = decide(failed);
      const heirs = [
        ...new Set(before.filter((d) => d.cause === 'takeover').map((d) => d.announcer as string)),
      ];
      const heir = heirs[pickHeir % Math.max(1, heirs.length)];
      if (heir === undefined) return true;
      // Only this heir has claimed what it takes; the others have not yet.
      const claims = new Map(failed.claims);
      for (const d of before) if (d.announcer === heir && d.claim !== undefined) claims.set(d.ip, d.claim);
      const during = announcers({ ...failed, claims });
      return before.every((d) => during.get(d.ip) === d.announcer);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a node back after a failure takes nothing by takeover; only what is over the bound moves', (t) => {
  const w = settle(world(5, 100));
  const away = settle(dead(w, 'n2'));
  t.is(loads(away).get('n2'), undefined);
  const back = { ...away, members: new Map<string, MemberState>([...away.members, ['n2', 'alive']]) };
  const cap = loadCap(100, 5, 0.25);
  const excess = [...loads(away).values()].reduce((s, n) => s + Math.max(0, n - cap), 0);
  const ds = decide(back);
  const moved = ds.filter((d) => d.cause !== 'kept');
  t.true(excess > 0);
  t.is(moved.length, excess, 'exactly the addresses over the bound move');
  t.true(moved.every((d) => d.cause === 'rebalance'));
  t.true(ds.some((d) => d.announcer === 'n2'));
  t.true([...loads(settle(back)).values()].every((n) => n <= cap));
});

test('without room anywhere else a holder keeps what it holds; explain says so, and names full nodes', (t) => {
  // Two nodes, the pool advertised on n0 and n1; n1 may not take (NotReady) — n0 keeps all beyond the bound.
  const w0 = world(3, 9);
  const nodes = new Map(w0.nodes);
  nodes.set('n1', { ...readyNode('n1'), ready: 'False' });
  nodes.set('n2', { ...readyNode('n2'), ready: 'False' });
  const claims = new Map(w0.ips.map((ip): [string, Claim] => [ip.ip, { ip: ip.ip, node: 'n0', epoch: 1 }]));
  const w = { ...w0, nodes, claims };
  t.true(decide(w).every((d) => d.announcer === 'n0' && d.cause === 'kept'));
  const e = explain(w, '10.0.0.8');
  t.is(e?.cap, 11, 'one eligible node: the bound is all 9 plus slack');
  // Now n1 is back and n0 keeps 5 of 9 (cap max(⌈4.5⌉, ⌊5.625⌋) = 5); the rest go to n1.
  const back = { ...w, nodes: new Map([...nodes, ['n1', readyNode('n1')]]) };
  const moved = decide(back).filter((d) => d.announcer === 'n1');
  t.is(moved.length, 4);
  const ex = explain(back, moved[0]?.ip as string);
  t.is(ex?.decision.cause, 'rebalance');
  t.is(ex?.cap, 5);
  t.is(ex?.candidates.find((c) => c.node === 'n0')?.load, 5);
  const order = ex?.candidates.map((c) => c.node) ?? [];
  if (order.indexOf('n0') < order.indexOf('n1'))
    t.true(ex?.candidates.find((c) => c.node === 'n0')?.full, 'n0 ranked first but full');
});

/** `nodes` nodes, `services` Services of `count` addresses each (one group per Service). */
function grouped(nodes: number, services: number, count: number): World {
  const w = world(nodes, services * count);
  return {
    ...w,
    ips: w.ips.map((ip, i) => ({ ...ip, group: `ns/s${Math.floor(i / count)}/ipv4` })),
  };
}

const spreadOk = (w: World, count: number, eligible: number): boolean => {
  const byGroup = new Map<string, Set<string>>();
  const groupOf = new Map(w.ips.map((ip) => [ip.ip, ip.group ?? '']));
  for (const d of decide(w)) {
    const g = groupOf.get(d.ip) ?? '';
    const set = byGroup.get(g) ?? new Set<string>();
    if (d.announcer !== undefined) set.add(d.announcer);
    byGroup.set(g, set);
  }
  return [...byGroup.values()].every((s) => s.size === Math.min(count, eligible));
};

test('a Service’s addresses go to distinct nodes while there are enough, before and after any single failure', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 10 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 2, max: 4 }),
      fc.nat(),
      (nodes, services, count, pick) => {
        const w = settle(grouped(nodes, services, count));
        if (!spreadOk(w, count, nodes)) return false;
        const victim = `n${pick % nodes}`;
        const after = settle(dead(w, victim));
        return spreadOk(after, count, nodes - 1);
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('two addresses of a Service on one node (a cold start): one moves to a node without any, planned', (t) => {
  const w0 = grouped(3, 1, 3);
  const claims = new Map(w0.ips.map((ip): [string, Claim] => [ip.ip, { ip: ip.ip, node: 'n0', epoch: 1 }]));
  const ds = decide({ ...w0, claims });
  t.is(new Set(ds.map((d) => d.announcer)).size, 3);
  t.true(ds.filter((d) => d.announcer !== 'n0').every((d) => d.cause === 'rebalance'));
  const ex = explain({ ...w0, claims }, ds.find((d) => d.cause === 'rebalance')?.ip ?? '');
  t.is(ex?.decision.cause, 'rebalance');
});

test('with the bound off, decisions are today’s: sticky rendezvous, whatever the loads', (t) => {
  const w0 = world(5, 6);
  const claims = new Map(w0.ips.map((ip): [string, Claim] => [ip.ip, { ip: ip.ip, node: 'n0', epoch: 1 }]));
  const off: World = { ...w0, claims };
  delete (off as { balance?: unknown }).balance;
  t.true(decide(off).every((d) => d.announcer === 'n0' && d.cause === 'kept'));
  t.is(explain(off, w0.ips[0]?.ip as string)?.cap, undefined);
});
