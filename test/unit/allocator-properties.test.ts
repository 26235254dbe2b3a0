import test from 'ava';
import fc from 'fast-check';
import { formatIp, parseIp } from '../../src/ip/index.ts';
import {
  Allocator,
  isBuggyIp,
  serviceKey,
  sharingKeyOf,
  type Decision,
  type PoolView,
  type ServiceView,
} from '../../src/kube/allocator/index.ts';
import { pool, svc, withStatus } from './allocator-fixtures.ts';

// ---- generators: small pools and many competing Services, so collisions are common ----

const V4_BASES = ['192.0.2', '198.51.100', '203.0.113'];
/** The address `offset` after .253 of the slot's /24 (crossing into the next /24). */
const v4 = (slot: number, offset: number): string => {
  const base = parseIp(`${V4_BASES[slot] ?? '192.0.2'}.253`)?.value ?? 0n;
  return formatIp(4, base + BigInt(offset));
};

const poolsArb: fc.Arbitrary<PoolView[]> = fc
  .uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 })
  .chain((slots) =>
    fc.tuple(
      ...slots.map((slot) =>
        fc
          .record({
            v4: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
            v6: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
            priority: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
            autoAssign: fc.constantFrom(true, true, true, false),
            avoidBuggyIPs: fc.boolean(),
            ns: fc.constantFrom<string[]>([], [], [], ['a'], ['b']),
          })
          .map((r) => {
            const addresses: string[] = [];
            // IPv4 ranges start at .253, so avoidBuggyIPs matters.
            if (r.v4 !== undefined) addresses.push(`${v4(slot, 0)}-${v4(slot, r.v4 - 1)}`);
            if (r.v6 !== undefined) addresses.push(`2001:db8:${slot}::1-2001:db8:${slot}::${r.v6}`);
            const over: Partial<PoolView> = {
              autoAssign: r.autoAssign,
              avoidBuggyIPs: r.avoidBuggyIPs,
              namespaces: r.ns,
              creationTimestamp: slot,
            };
            if (r.priority !== undefined) over.priority = r.priority;
            return pool(`pool${slot}`, addresses, over);
          }),
      ),
    ),
  );

const requestArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant<string | undefined>(undefined) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -1, max: 6 }))
      .map(([slot, n]) => (slot === 3 ? `2001:db8:0::${n + 1}` : v4(slot, n))),
  },
);

const serviceArb = (i: number): fc.Arbitrary<ServiceView> =>
  fc
    .record({
      ns: fc.constantFrom('a', 'a', 'a', 'b'),
      created: fc.integer({ min: 0, max: 5 }),
      key: fc.constantFrom<string | undefined>(undefined, 'k1', 'k2'),
      ports: fc.uniqueArray(fc.constantFrom('TCP/80', 'UDP/53', 'TCP/53', 'TCP/443'), {
        minLength: 1,
        maxLength: 2,
      }),
      policy: fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
      stack: fc.constantFrom('v4', 'v4', 'v4', 'v6', 'prefer', 'require'),
      request: requestArb,
      pool: fc.constantFrom<string | undefined>(
        undefined,
        undefined,
        undefined,
        undefined,
        'pool0',
        'pool1',
        'missing',
      ),
      lbClass: fc.constantFrom<string | undefined>(
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        'other',
      ),
    })
    .map((r) => {
      const annotations: Record<string, string> = {};
      if (r.key !== undefined) annotations['meshlb.io/allow-shared-ip'] = r.key;
      if (r.request !== undefined) annotations['meshlb.io/loadBalancerIPs'] = r.request;
      if (r.pool !== undefined) annotations['meshlb.io/address-pool'] = r.pool;
      const over: Partial<ServiceView> = {
        uid: `u${i}`,
        creationTimestamp: r.created,
        annotations,
        ports: r.ports.map((p) => {
          const [protocol, port] = p.split('/') as [string, string];
          return { protocol, port: Number(port) };
        }),
        externalTrafficPolicy: r.policy,
        ...(r.stack === 'v4'
          ? { ipFamilies: ['IPv4'] }
          : r.stack === 'v6'
            ? { ipFamilies: ['IPv6'] }
            : {
                ipFamilies: ['IPv4', 'IPv6'],
                ipFamilyPolicy: r.stack === 'prefer' ? 'PreferDualStack' : 'RequireDualStack',
              }),
      };
      if (r.lbClass !== undefined) over.loadBalancerClass = r.lbClass;
      return svc(`${r.ns}/s${i}`, over);
    });

const servicesArb = fc
  .integer({ min: 0, max: 14 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => serviceArb(i))));

// ---- oracles ----

function compatible(a: ServiceView, b: ServiceView): boolean {
  const ka = sharingKeyOf(a);
  const kb = sharingKeyOf(b);
  if (ka === null || ka !== kb || a.namespace !== b.namespace) return false;
  if (a.externalTrafficPolicy !== b.externalTrafficPolicy) return false;
  return !a.ports.some((p) => b.ports.some((q) => p.protocol === q.protocol && p.port === q.port));
}

function usableIn(pools: readonly PoolView[], ip: string): boolean {
  const p = parseIp(ip);
  if (p === undefined) return false;
  return pools.some(
    (pl) =>
      !(pl.avoidBuggyIPs && isBuggyIp(p.family, p.value)) &&
      pl.addresses.some((r) => r.family === p.family && r.first <= p.value && p.value <= r.last),
  );
}

/** Every IP's holders are pairwise compatible, as their latest views say. */
function checkSharing(a: Allocator, latest: ReadonlyMap<string, ServiceView>): string | undefined {
  const byIp = new Map<string, string[]>();
  for (const { service, ips } of a.table())
    for (const ip of ips) byIp.set(ip, [...(byIp.get(ip) ?? []), service]);
  for (const [ip, holders] of byIp) {
    for (let i = 0; i < holders.length; i++) {
      for (let j = i + 1; j < holders.length; j++) {
        const x = latest.get(holders[i] ?? '');
        const y = latest.get(holders[j] ?? '');
        if (x === undefined || y === undefined || !compatible(x, y))
          return `${ip} held by ${holders.join(', ')}`;
      }
    }
  }
  return undefined;
}

const statusOf = (d: Decision | undefined): readonly string[] =>
  d === undefined ? [] : d.kind === 'assigned' ? d.ips : d.kind === 'failed' ? d.kept : [];

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// ---- properties ----

test('no IP is held by two Services unless they share it compatibly; every IP is inside a pool', (t) => {
  const op = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('assign' as const), i: fc.nat(), variant: fc.nat() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), i: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clusterip' as const), i: fc.nat() }) },
  );
  fc.assert(
    fc.property(
      poolsArb,
      servicesArb,
      servicesArb,
      fc.array(op, { maxLength: 40 }),
      (pools, base, alt, ops) => {
        if (base.length === 0) return;
        const a = new Allocator({ pools });
        const latest = new Map<string, ServiceView>();
        for (const o of ops) {
          const s = base[o.i % base.length] as ServiceView;
          const key = serviceKey(s);
          if (o.kind === 'release') {
            a.release(key);
            latest.delete(key);
            continue;
          }
          // A variant: the same Service (key, uid, age) with another's spec.
          const other = alt[o.kind === 'assign' ? o.variant % Math.max(alt.length, 1) : 0];
          const view: ServiceView =
            o.kind === 'clusterip'
              ? { ...s, type: 'ClusterIP' }
              : o.variant % 2 === 0 || other === undefined
                ? s
                : {
                    ...other,
                    namespace: s.namespace,
                    name: s.name,
                    uid: s.uid,
                    creationTimestamp: s.creationTimestamp,
                  };
          const d = a.assign({ ...view, currentIPs: a.ipsOf(key) });
          latest.set(key, view);
          if (d.kind === 'assigned') {
            for (const ip of d.ips) t.true(usableIn(pools, ip), `${ip} outside the pools`);
            t.is(new Set(d.assignments.map((x) => x.family)).size, d.ips.length);
          }
          if (d.kind === 'ignored') t.deepEqual(a.ipsOf(key), []);
        }
        const bad = checkSharing(a, latest);
        t.is(bad, undefined);
      },
    ),
    { numRuns: 300 },
  );
});

test('sharing under churn: Services that change key, ports or policy never end up sharing incompatibly', (t) => {
  // Two addresses for up to six Services: nearly every success is a shared IP.
  const pools = [pool('p', ['192.0.2.1-192.0.2.2'])];
  const spec: fc.Arbitrary<Spec> = fc.record({
    key: fc.constantFrom<string | undefined>('k', 'k', 'k', 'j', undefined),
    port: fc.constantFrom('TCP/80', 'TCP/443', 'UDP/53'),
    policy: fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Cluster', 'Local'),
    request: fc.constantFrom<string | undefined>(undefined, undefined, '192.0.2.1', '192.0.2.2'),
  });
  interface Spec {
    key: string | undefined;
    port: string;
    policy: 'Cluster' | 'Local';
    request: string | undefined;
  }
  const view = (i: number, r: Spec): ServiceView => {
    const annotations: Record<string, string> = {};
    if (r.key !== undefined) annotations['meshlb.io/allow-shared-ip'] = r.key;
    if (r.request !== undefined) annotations['meshlb.io/loadBalancerIPs'] = r.request;
    const [protocol, port] = r.port.split('/') as [string, string];
    return svc(`s${i}`, {
      creationTimestamp: i,
      annotations,
      ports: [{ protocol, port: Number(port) }],
      externalTrafficPolicy: r.policy,
    });
  };
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.option(spec, { nil: undefined })), {
        maxLength: 60,
      }),
      (ops) => {
        const a = new Allocator({ pools });
        const latest = new Map<string, ServiceView>();
        for (const [i, r] of ops) {
          const key = `default/s${i}`;
          if (r === undefined) {
            a.release(key);
            latest.delete(key);
            continue;
          }
          const v = view(i, r);
          a.assign({ ...v, currentIPs: a.ipsOf(key) });
          latest.set(key, v);
        }
        t.is(checkSharing(a, latest), undefined);
      },
    ),
    { numRuns: 500 },
  );
});

test('restore(current) then assign of every Service, in any order: every assigned one is unchanged', (t) => {
  fc.assert(
    fc.property(poolsArb, servicesArb, fc.nat(), (pools, services, seed) => {
      const first = new Allocator({ pools }).assignAll(services);
      const statuses = services.map((s) => withStatus(s, statusOf(first.get(serviceKey(s)))));
      const restarted = new Allocator({ pools });
      const report = restarted.restore(shuffled(statuses, seed));
      t.deepEqual(report.conflicts, []);
      for (const s of shuffled(statuses, seed + 1)) {
        const d = restarted.assign(s);
        if (s.currentIPs.length > 0)
          t.like(d, { kind: 'assigned', unchanged: true, released: [] }, serviceKey(s));
      }
    }),
    { numRuns: 300 },
  );
});

test('assignAll does not depend on the order of its input', (t) => {
  fc.assert(
    fc.property(poolsArb, servicesArb, fc.nat(), (pools, services, seed) => {
      const sorted = (m: Map<string, Decision>): [string, Decision][] =>
        [...m].sort(([x], [y]) => (x < y ? -1 : 1));
      const one = new Allocator({ pools }).assignAll(services);
      const two = new Allocator({ pools }).assignAll(shuffled(services, seed));
      t.deepEqual(sorted(two), sorted(one));
    }),
    { numRuns: 200 },
  );
});

test('restore does not depend on the order of its input', (t) => {
  fc.assert(
    fc.property(poolsArb, servicesArb, servicesArb, fc.nat(), (pools, services, claims, seed) => {
      // Statuses that collide on purpose: each Service claims another's addresses.
      const first = new Allocator({ pools }).assignAll(claims);
      const taken = [...first.values()].flatMap(statusOf);
      const statuses = services.map((s, i) =>
        withStatus(s, taken.length === 0 ? [] : [taken[i % taken.length] ?? '']),
      );
      const one = new Allocator({ pools });
      const two = new Allocator({ pools });
      t.deepEqual(two.restore(shuffled(statuses, seed)), one.restore(statuses));
      t.deepEqual(two.table(), one.table());
    }),
    { numRuns: 200 },
  );
});

test('exclusive auto-assigned Services of one pool take its lowest usable addresses, whatever the order', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.boolean(), fc.nat(), (n, avoid, seed) => {
      const p = pool('p', ['192.0.2.250-192.0.3.20'], { avoidBuggyIPs: avoid });
      const services = Array.from({ length: n }, (_, i) => svc(`s${i}`, { creationTimestamp: i }));
      const a = new Allocator({ pools: [p] });
      const got = new Set<string>();
      for (const s of shuffled(services, seed)) for (const ip of statusOf(a.assign(s))) got.add(ip);
      const expected: string[] = [];
      for (let v = 0xc00002fan; expected.length < n && v <= 0xc0000314n; v++) {
        if (!(avoid && isBuggyIp(4, v))) expected.push(formatIp(4, v));
      }
      t.deepEqual([...got].sort(), expected.sort());
    }),
  );
});

test('after any assigns and releases, a new Service gets the lowest free address (the search hint is sound)', (t) => {
  const p = pool('p', ['192.0.2.0/27'], { avoidBuggyIPs: true });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 80 }),
      (ops) => {
        const a = new Allocator({ pools: [p] });
        for (const [add, i] of ops) {
          if (add) a.assign(svc(`s${i}`, i % 3 === 0 ? { loadBalancerIP: `192.0.2.${1 + (i % 30)}` } : {}));
          else a.release(`default/s${i}`);
        }
        const held = new Set(a.table().flatMap((r) => r.ips));
        let expected: string | undefined;
        for (let v = 1; v <= 30 && expected === undefined; v++)
          if (!held.has(`192.0.2.${v}`)) expected = `192.0.2.${v}`;
        const d = a.assign(svc('probe'));
        if (expected === undefined) t.like(d, { kind: 'failed', reason: 'PoolExhausted' });
        else t.like(d, { kind: 'assigned', ips: [expected] });
        const [c] = a.counts();
        t.is(c?.ipv4.assigned, BigInt(held.size + (expected === undefined ? 0 : 1)));
      },
    ),
  );
});

test('10,000 Services from a /16, with churn, stay fast', (t) => {
  const a = new Allocator({ pools: [pool('p', ['10.1.0.0/16'], { avoidBuggyIPs: true })] });
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) a.assign(svc(`s${i}`));
  for (let i = 0; i < 10_000; i += 7) a.release(`default/s${i}`);
  for (let i = 0; i < 2_000; i++) a.assign(svc(`t${i}`));
  const elapsed = performance.now() - started;
  t.is(a.table().length, 10_000 - Math.ceil(10_000 / 7) + 2_000);
  t.true(elapsed < 3_000, `${elapsed.toFixed(0)} ms`);
});
