import anyTest, { type TestFn } from 'ava';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import { KubeClient, type RequestOptions } from '../../src/kube/client/index.ts';
import { LeaderElector } from '../../src/kube/leader.ts';
import { startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane }>;
// Short timings so the test is quick; the defaults are client-go's (15 s / 10 s / 2 s).
const config = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };

test.before(async (t) => {
  t.context.cp = await startControlPlane();
});
test.after.always(async (t) => {
  await t.context.cp.stop();
});

async function pair(cp: ControlPlane, namespace: string) {
  const log: string[] = [];
  const make = (identity: string): LeaderElector =>
    new LeaderElector({
      kube: cp.kube,
      clock: systemClock,
      namespace,
      name: 'meshlb-controller',
      identity,
      config,
      onStartedLeading: () => log.push(`${identity} leads`),
      onStoppedLeading: () => log.push(`${identity} stops`),
    });
  const [a, b] = [make('a'), make('b')];
  a.start();
  b.start();
  const first = await waitFor('a leader', () => (a.leading ? a : b.leading ? b : undefined));
  return { a, b, first, other: first === a ? b : a, log };
}

const holder = async (cp: ControlPlane, namespace: string): Promise<string | undefined> =>
  (
    await cp.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'meshlb-controller', namespace })
  ).spec?.holderIdentity;

test('one of two candidates leads and holds the Lease; a released Lease passes to the other at once', async (t) => {
  const { cp } = t.context;
  const ns = await cp.newNamespace('leader');
  const { first, other, log } = await pair(cp, ns);
  t.false(first === other);
  t.false(other.leading);
  const firstId = log[0]?.split(' ')[0];
  t.is(await holder(cp, ns), firstId);
  const t0 = Date.now();
  await first.stop();
  await waitFor('the other to lead', () => other.leading, 5_000);
  t.true(Date.now() - t0 < config.leaseDurationMs, 'no wait for expiry after a release');
  t.false(first.leading);
  t.not(await holder(cp, ns), firstId);
  await other.stop();
});

test('a leader that dies without releasing is replaced after the lease expires', async (t) => {
  const { cp } = t.context;
  const ns = await cp.newNamespace('leader');
  const { first, other } = await pair(cp, ns);
  const t0 = Date.now();
  await first.stop({ release: false });
  await waitFor('the other to lead', () => other.leading, 10_000);
  const took = Date.now() - t0;
  t.true(
    took >= config.leaseDurationMs - config.retryPeriodMs,
    `took over after ${took} ms: not before expiry`,
  );
  t.true(took <= config.leaseDurationMs + 3 * config.retryPeriodMs + 1_000, `took ${took} ms`);
  await other.stop();
});

test('stop() while a renewal is in flight still releases the Lease (no wait for expiry)', async (t) => {
  const { cp } = t.context;
  const ns = await cp.newNamespace('leader');
  // A KubeConfig whose Lease API holds the next renewal until the test lets it go:
  // the renewal is in flight when stop() reads the Lease to release it.
  let gate: { blocked: () => void; open: Promise<void> } | undefined;
  class Gated extends KubeClient {
    override async replace<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
      const g = gate;
      if (g !== undefined) {
        gate = undefined;
        g.blocked();
        await g.open;
      }
      return super.replace<T>(path, body, opts);
    }
  }
  const elector = new LeaderElector({
    kube: new Gated(cp.kube.target),
    clock: systemClock,
    namespace: ns,
    name: 'meshlb-controller',
    identity: 'a',
    config,
    onStartedLeading: () => undefined,
    onStoppedLeading: () => undefined,
  });
  elector.start();
  await waitFor('a to lead', () => elector.leading);
  let open: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => {
    gate = { blocked: resolve, open: new Promise<void>((r) => (open = r)) };
  });
  await blocked; // the next renewal waits at the gate
  const stopping = elector.stop();
  open();
  await stopping;
  t.is(await holder(cp, ns), undefined, 'the Lease was released despite the renewal in between');
});

test('a leader whose Lease requests hang steps down on its own deadline, before the standby takes over', async (t) => {
  const { cp } = t.context;
  const ns = await cp.newNamespace('leader');
  // a's API never answers once `hang` is set (a half-open connection).
  let hang = false;
  class Hanging extends KubeClient {
    override request<T>(method: string, path: string, opts?: RequestOptions): Promise<T> {
      return hang ? new Promise<T>(() => undefined) : super.request<T>(method, path, opts);
    }
  }
  const events: string[] = [];
  const make = (identity: string, kube: KubeClient): LeaderElector =>
    new LeaderElector({
      kube,
      clock: systemClock,
      namespace: ns,
      name: 'meshlb-controller',
      identity,
      config,
      onStartedLeading: () => events.push(`${identity} leads`),
      onStoppedLeading: () => events.push(`${identity} stops`),
    });
  const a = make('a', new Hanging(cp.kube.target));
  a.start();
  await waitFor('a to lead', () => a.leading);
  const b = make('b', cp.kube);
  b.start();
  const t0 = Date.now();
  hang = true;
  await waitFor('a to step down', () => !a.leading, config.renewDeadlineMs + 2_000);
  const down = Date.now() - t0;
  t.true(down <= config.renewDeadlineMs + config.retryPeriodMs + 500, `stepped down after ${down} ms`);
  await waitFor('b to lead', () => b.leading, config.leaseDurationMs + 3_000);
  // Never two leaders: a stopped before b started.
  t.deepEqual(events, ['a leads', 'a stops', 'b leads']);
  await a.stop({ release: false });
  await b.stop();
});
