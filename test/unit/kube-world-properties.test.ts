// Property: the World is a function of the set of objects, not of the order the
// informers list them in (nor of the order of the members and claims maps).
import test from 'ava';
import fc from 'fast-check';
import type { World } from '../../src/election/index.ts';
import { buildWorld, type WorldInputs } from '../../src/kube/world/index.ts';
import {
  advertisement,
  endpoint,
  FOREIGN,
  node,
  OWNED,
  pool,
  service,
  slice,
} from './kube-world-fixtures.ts';

const NODES = ['n1', 'n2', 'n3', 'n4'];
const IPS = ['198.51.100.1', '198.51.100.2', '198.51.100.130', '192.0.2.1', '2001:db8::1', '2001:db8::2'];

/** Every order and every container in the World, written out in order. */
function serialise(w: World): string {
  return JSON.stringify({
    nodes: [...w.nodes],
    members: [...w.members],
    advertisements: w.advertisements,
    ips: w.ips.map((ip) => ({ ...ip, local: ip.localEndpointNodes && [...ip.localEndpointNodes] })),
    claims: [...w.claims],
  });
}

const arbInputs: fc.Arbitrary<WorldInputs> = fc
  .record({
    nodes: fc.uniqueArray(fc.constantFrom(...NODES)).chain((names) =>
      fc.tuple(
        ...names.map((n) =>
          fc
            .record({
              ready: fc.constantFrom('True', 'False', 'Unknown'),
              unschedulable: fc.boolean(),
              rack: fc.constantFrom('r1', 'r2'),
            })
            .map((o) =>
              node(n, { ready: o.ready, unschedulable: o.unschedulable, labels: { rack: o.rack } }),
            ),
        ),
      ),
    ),
    services: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        ips: fc.uniqueArray(fc.constantFrom(...IPS), { maxLength: 2 }),
        local: fc.boolean(),
        owned: fc.boolean(),
      }),
      { selector: (s) => s.name },
    ),
    slices: fc.uniqueArray(
      fc.record({
        svc: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        family: fc.constantFrom('IPv4', 'IPv6'),
        eps: fc.array(
          fc.record({ node: fc.constantFrom(...NODES), ready: fc.boolean(), terminating: fc.boolean() }),
          { maxLength: 4 },
        ),
      }),
      { selector: (s) => `${s.svc}-${s.family}` },
    ),
    pools: fc.subarray([
      pool('low', ['198.51.100.0/25'], '2025-01-01T00:00:00Z', { zone: 'a' }),
      pool('wide', ['198.51.100.0/24'], '2025-01-01T00:00:00Z', { zone: 'b' }),
      pool('v6', ['2001:db8::/120'], '2025-01-02T00:00:00Z', { zone: 'a' }),
    ]),
    advertisements: fc.subarray([
      advertisement('one', { ipPools: ['low'], interfaces: ['eth0'] }),
      advertisement('two', {
        ipPoolSelectors: [{ matchLabels: { zone: 'a' } }],
        nodeSelectors: [{ matchLabels: { rack: 'r1' } }],
      }),
      advertisement('three', { ipPoolSelectors: [{}], cordonPolicy: 'HandOff' }),
    ]),
    members: fc.uniqueArray(
      fc.tuple(
        fc.constantFrom(...NODES),
        fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const),
      ),
      { selector: ([n]) => n },
    ),
    claims: fc.uniqueArray(
      fc.record({ ip: fc.constantFrom(...IPS), node: fc.constantFrom(...NODES), epoch: fc.nat(5) }),
      { selector: (c) => c.ip },
    ),
  })
  .map((r) => ({
    nodes: r.nodes,
    services: r.services.map((s) =>
      service('ns', s.name, s.ips, { local: s.local, managed: [s.owned ? OWNED : FOREIGN] }),
    ),
    endpointSlices: r.slices.map((s) =>
      slice(
        'ns',
        s.svc,
        s.eps.map((e) => endpoint(e.node, { ready: e.ready, terminating: e.terminating })),
        s.family,
      ),
    ),
    pools: r.pools,
    advertisements: r.advertisements,
    members: new Map(r.members),
    claims: new Map(r.claims.map((c) => [c.ip, c])),
  }));

const permutation = <T>(xs: readonly T[]): fc.Arbitrary<T[]> =>
  fc.shuffledSubarray([...xs], { minLength: xs.length, maxLength: xs.length });

test('the World does not depend on the order of its inputs', (t) => {
  fc.assert(
    fc.property(
      arbInputs.chain((inputs) =>
        fc.record({
          inputs: fc.constant(inputs),
          shuffled: fc.record({
            nodes: permutation(inputs.nodes),
            services: permutation(inputs.services),
            endpointSlices: permutation(inputs.endpointSlices),
            pools: permutation(inputs.pools),
            advertisements: permutation(inputs.advertisements),
            members: permutation([...inputs.members]).map((e) => new Map(e)),
            claims: permutation([...inputs.claims]).map((e) => new Map(e)),
          }),
        }),
      ),
      ({ inputs, shuffled }) => serialise(buildWorld(inputs)) === serialise(buildWorld(shuffled)),
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('the World is the same when built twice from the same inputs', (t) => {
  fc.assert(
    fc.property(arbInputs, (inputs) => serialise(buildWorld(inputs)) === serialise(buildWorld(inputs))),
    { numRuns: 100 },
  );
  t.pass();
});
