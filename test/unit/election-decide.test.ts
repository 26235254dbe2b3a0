import test from 'ava';
import fc from 'fast-check';
import { decide, eligibility, explain, mergeClaim } from '../../src/election/index.ts';
import type { Claim, NodeView, ServiceIp, World } from '../../src/election/index.ts';
import type { MemberState } from '../../src/mesh/messages.ts';
import { EVERY_NODE, readyNode } from '../../lab/testbed/election-world.ts';

const nodeArb = (name: string): fc.Arbitrary<NodeView> =>
  fc.record({
    name: fc.constant(name),
    ready: fc.constantFrom('True', 'True', 'True', 'False', 'Unknown' as const),
    networkUnavailable: fc.constantFrom(false, false, false, true),
    deleting: fc.constantFrom(false, false, false, true),
    unschedulable: fc.boolean(),
    taints: fc.constantFrom<string[]>([], [], [], ['node.kubernetes.io/unreachable'], ['example.com/x']),
    labels: fc.constantFrom({}, { zone: 'a' }, { zone: 'b' }),
  });

const worldArb: fc.Arbitrary<World> = fc
  .record({
    count: fc.integer({ min: 1, max: 8 }),
    ips: fc.integer({ min: 1, max: 12 }),
    cordon: fc.constantFrom('keep', 'hand-off' as const),
    selector: fc.constantFrom(undefined, { matchLabels: { zone: 'a' } }),
  })
  .chain(({ count, ips, cordon, selector }) => {
    const names = Array.from({ length: count }, (_, i) => `node-${i}`);
    return fc
      .record({
        nodes: fc.tuple(...names.map(nodeArb)),
        states: fc.tuple(
          ...names.map(() => fc.constantFrom<MemberState>('alive', 'alive', 'alive', 'suspect', 'dead')),
        ),
        claimed: fc.array(fc.tuple(fc.nat(ips - 1), fc.nat(count - 1), fc.integer({ min: 1, max: 3 })), {
          maxLength: ips,
        }),
      })
      .map(({ nodes, states, claimed }): World => {
        const claims = new Map<string, Claim>();
        for (const [i, n, epoch] of claimed)
          claims.set(`10.0.0.${i}`, { ip: `10.0.0.${i}`, node: `node-${n}`, epoch });
        return {
          nodes: new Map(nodes.map((n) => [n.name, n])),
          members: new Map(names.map((n, i) => [n, states[i] as MemberState])),
          advertisements: [
            { ...EVERY_NODE, cordon, nodeSelectors: selector === undefined ? [] : [selector] },
          ],
          ips: Array.from({ length: ips }, (_, i): ServiceIp => ({ ip: `10.0.0.${i}`, pool: 'default' })),
          claims,
        };
      });
  });

test('exactly one announcer per IP whenever some node may announce it, and never an ineligible one', (t) => {
  fc.assert(
    fc.property(worldArb, (w) => {
      for (const d of decide(w)) {
        const ip = w.ips.find((x) => x.ip === d.ip) as ServiceIp;
        const nodes = [...new Set([...w.nodes.keys(), ...w.members.keys()])];
        const takers = nodes.filter((n) => eligibility(w, ip, n, 'take').ok);
        const holder = w.claims.get(d.ip)?.node;
        const holderKeeps = holder !== undefined && eligibility(w, ip, holder, 'keep').ok;
        if ((takers.length > 0 || holderKeeps) !== (d.announcer !== undefined)) return false;
        if (d.announcer === undefined) continue;
        const ok =
          eligibility(w, ip, d.announcer, 'take').ok ||
          (d.cause === 'kept' && eligibility(w, ip, d.announcer, 'keep').ok);
        if (!ok) return false;
        // Every node computes the same decision: the announcer is the only one that acts.
        const acting = nodes.filter((n) => decide(w).find((x) => x.ip === d.ip)?.announcer === n);
        if (acting.length !== 1) return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

function withNode(w: World, name: string): World {
  return {
    ...w,
    nodes: new Map([...w.nodes, [name, readyNode(name)]]),
    members: new Map([...w.members, [name, 'alive' as const]]),
  };
}

function without(w: World, name: string): World {
  const nodes = new Map(w.nodes);
  nodes.delete(name);
  const members = new Map(w.members);
  members.delete(name);
  return { ...w, nodes, members };
}

const announcers = (w: World): Map<string, string | undefined> =>
  new Map(decide(w).map((d) => [d.ip, d.announcer]));

test('a node joining moves only the IPs it wins; leaving moves only the IPs it held', (t) => {
  fc.assert(
    fc.property(worldArb, (w0) => {
      const w = { ...w0, claims: new Map<string, Claim>() };
      const before = announcers(w);
      const joined = announcers(withNode(w, 'newcomer'));
      for (const [ip, a] of joined) if (a !== before.get(ip) && a !== 'newcomer') return false;
      const left = announcers(without(withNode(w, 'newcomer'), 'newcomer'));
      for (const [ip, a] of left) if (a !== joined.get(ip) && joined.get(ip) !== 'newcomer') return false;
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('sticky by default: a returning node takes nothing; with failback it takes back what it ranks first for', (t) => {
  fc.assert(
    fc.property(worldArb, (w0) => {
      const w = withNode({ ...w0, claims: new Map<string, Claim>() }, 'returner');
      const gone = without(w, 'returner');
      // While it was away, its IPs moved and were claimed by the new announcers.
      const claims = new Map<string, Claim>();
      for (const d of decide(gone)) if (d.claim !== undefined) claims.set(d.ip, d.claim);
      const back = { ...w, claims };
      for (const d of decide(back)) if (d.announcer === 'returner' && claims.has(d.ip)) return false;
      const failback = {
        ...back,
        advertisements: back.advertisements.map((a) => ({ ...a, failback: true })),
      };
      for (const d of decide(failback)) {
        if (d.cause === 'failback' && d.announcer !== 'returner') return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('conflicting claims converge to one, whatever order they arrive in', (t) => {
  const claimArb = fc.record({
    ip: fc.constant('10.0.0.1'),
    node: fc.constantFrom('a', 'b', 'c', 'd'),
    epoch: fc.integer({ min: 1, max: 4 }),
  });
  fc.assert(
    fc.property(fc.array(claimArb, { minLength: 1, maxLength: 8 }), fc.nat(), (claims, seed) => {
      const shuffled = [...claims].sort(
        (a, b) =>
          ((a.epoch * 31 + a.node.charCodeAt(0) + seed) % 7) -
          ((b.epoch * 31 + b.node.charCodeAt(0) + seed) % 7),
      );
      const m1 = new Map<string, Claim>();
      const m2 = new Map<string, Claim>();
      for (const c of claims) mergeClaim(m1, c);
      for (const c of shuffled.reverse()) mergeClaim(m2, c);
      const [x, y] = [m1.get('10.0.0.1'), m2.get('10.0.0.1')];
      return x?.node === y?.node && x?.epoch === y?.epoch;
    }),
    { numRuns: 1_000 },
  );
  t.pass();
});

test('takeover raises the epoch; explain names the reason of every rejected node', (t) => {
  const w: World = {
    nodes: new Map(['a', 'b', 'c'].map((n) => [n, readyNode(n)])),
    members: new Map<string, MemberState>([
      ['a', 'alive'],
      ['b', 'alive'],
      ['c', 'alive'],
    ]),
    advertisements: [EVERY_NODE],
    ips: [{ ip: '10.0.0.7', pool: 'default' }],
    claims: new Map(),
  };
  const [first] = decide(w);
  t.is(first?.cause, 'fresh');
  t.is(first?.claim?.epoch, 1);
  const holder = first?.announcer as string;
  t.is(first?.heirs.length, 2);
  const dead: World = {
    ...w,
    members: new Map([...w.members, [holder, 'dead' as const]]),
    claims: new Map([['10.0.0.7', first?.claim as Claim]]),
  };
  const [second] = decide(dead);
  t.is(second?.cause, 'takeover');
  t.is(second?.previous, holder);
  t.is(second?.claim?.epoch, 2);
  t.is(second?.announcer, first?.heirs[0]);
  const ex = explain(dead, '10.0.0.7');
  t.is(ex?.candidates.find((c) => c.node === holder)?.reason, 'SpeakerDead');
  t.deepEqual(
    ex?.candidates.map((c) => c.rank),
    [1, 2, 3],
  );
  t.is(explain(dead, '10.9.9.9'), undefined);
  // A suspected holder keeps its IP (suspicion alone does not move it).
  const suspect: World = { ...dead, members: new Map([...w.members, [holder, 'suspect' as const]]) };
  const [third] = decide(suspect);
  t.is(third?.announcer, holder);
  t.is(third?.cause, 'kept');
  t.true(explain(suspect, '10.0.0.7')?.holderKeeps);
});
