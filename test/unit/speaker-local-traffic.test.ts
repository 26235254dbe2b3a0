import test from 'ava';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { VirtualClock, type Clock } from '../../src/clock/index.ts';
import {
  LOCAL_TRAFFIC_RETRY_MS,
  LocalTrafficGate,
  localTrafficTargets,
  type LocalTrafficAnswer,
} from '../../src/speaker/local-traffic.ts';

const TARGET = [{ host: '192.0.2.12', port: 31293 }];
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A gate asked as the speaker asks it: again at every onChange. Answers come from `answers` in turn. */
function setup(answers: LocalTrafficAnswer[], waitMs = 3_000, early = 0) {
  const clock = new VirtualClock();
  // Node's timers run on the event loop's cached time: they may fire a fraction early.
  const timers: Clock = {
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    sleep: clock.sleep.bind(clock),
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms - early),
  };
  let asked = 0;
  let took: number | undefined;
  const warnings: unknown[] = [];
  const results: [string, number][] = [];
  const gate: LocalTrafficGate = new LocalTrafficGate({
    clock: timers,
    waitMs,
    ask: () => Promise.resolve(answers[Math.min(asked++, answers.length - 1)] ?? 'unknown'),
    onChange: () => {
      step();
    },
    log: { warn: (o: unknown) => warnings.push(o), info: () => undefined } as never,
    onResult: (result, ms) => results.push([result, ms]),
  });
  const step = (): void => {
    if (took === undefined && gate.mayTake('198.51.100.17', TARGET)) took = clock.now();
  };
  return { clock, gate, step, asked: () => asked, took: () => took, warnings, results };
}

test('no Local Service on the IP (no port to ask): take at once, nothing asked', (t) => {
  const s = setup(['not-yet']);
  t.true(s.gate.mayTake('198.51.100.16', []));
  t.is(s.asked(), 0);
});

test('waitMs 0: take at once, nothing asked', (t) => {
  const s = setup(['not-yet'], 0);
  s.step();
  t.is(s.took(), 0);
  t.is(s.asked(), 0);
});

test('kube-proxy delivers already: the take waits for one answer only', async (t) => {
  const s = setup(['delivers']);
  s.step();
  t.is(s.took(), undefined); // not before the answer
  await settle();
  t.is(s.took(), 0);
  t.is(s.asked(), 1);
  t.is(s.gate.waiting, 0);
});

test('503 until kube-proxy writes its rules: asked again every retry interval, taken on the 200', async (t) => {
  const s = setup(['not-yet', 'not-yet', 'not-yet', 'delivers']);
  s.step();
  for (let i = 0; i < 10 && s.took() === undefined; i++) {
    await settle();
    await s.clock.advanceAsync(LOCAL_TRAFFIC_RETRY_MS);
  }
  await settle();
  t.is(s.asked(), 4);
  t.is(s.took(), 3 * LOCAL_TRAFFIC_RETRY_MS);
  t.deepEqual(s.warnings, []);
  t.deepEqual(s.results, [['delivered', 3 * LOCAL_TRAFFIC_RETRY_MS]]);
});

test('a retry timer that fires a fraction of a millisecond early still asks again (it stalled the wait for 5 s)', async (t) => {
  const s = setup(['not-yet', 'delivers'], 3_000, 0.4);
  s.step();
  for (let i = 0; i < 5 && s.took() === undefined; i++) {
    await settle();
    await s.clock.advanceAsync(LOCAL_TRAFFIC_RETRY_MS);
  }
  await settle();
  t.is(s.asked(), 2);
  t.true((s.took() ?? Infinity) < 2 * LOCAL_TRAFFIC_RETRY_MS);
});

test('503 for good: taken anyway after waitMs, and said so', async (t) => {
  const s = setup(['not-yet'], 1_000);
  s.step();
  for (let i = 0; i < 40 && s.took() === undefined; i++) {
    await settle();
    await s.clock.advanceAsync(LOCAL_TRAFFIC_RETRY_MS);
  }
  t.is(s.took(), 1_000);
  t.is(s.warnings.length, 1);
  t.deepEqual(s.results, [['gave-up', 1_000]]);
});

test('no answer that tells (nothing listens, another status): taken after the first answer', async (t) => {
  const s = setup(['unknown']);
  s.step();
  await settle();
  t.is(s.took(), 0);
  t.deepEqual(s.results, [['unknown', 0]]);
});

test('a decision that went elsewhere is forgotten; stop leaves no timer', async (t) => {
  const s = setup(['not-yet']);
  s.step();
  await settle();
  t.is(s.gate.waiting, 1);
  s.gate.retain(new Set());
  t.is(s.gate.waiting, 0);
  s.step();
  await settle();
  s.gate.stop();
  t.is(s.clock.pending, 0);
  t.true(s.gate.mayTake('198.51.100.17', TARGET)); // stopped: never holds a take back
});

const svc = (policy: 'Local' | 'Cluster', port?: number): V1Service => ({
  spec: { externalTrafficPolicy: policy, ...(port === undefined ? {} : { healthCheckNodePort: port }) },
});
const node: V1Node = {
  status: {
    addresses: [
      { type: 'Hostname', address: 'h2' },
      { type: 'InternalIP', address: '192.0.2.12' },
      { type: 'InternalIP', address: '2001:db8::12' },
    ],
  },
};

test('localTrafficTargets: the Local Services’ ports at the node’s address of the IP’s family', (t) => {
  const services = [svc('Local', 31293), svc('Cluster', 30000), svc('Local', 31000), svc('Local', 31293)];
  t.deepEqual(localTrafficTargets(services, node, 4), [
    { host: '192.0.2.12', port: 31000 },
    { host: '192.0.2.12', port: 31293 },
  ]);
  t.deepEqual(localTrafficTargets([svc('Local', 31293)], node, 6), [{ host: '2001:db8::12', port: 31293 }]);
  t.deepEqual(localTrafficTargets([svc('Cluster', 30000), svc('Local')], node, 4), []);
  t.deepEqual(localTrafficTargets([svc('Local', 31293)], undefined, 4), []);
});
