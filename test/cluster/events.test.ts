// Event de-duplication across a restart: the same Event recorded by a new
// process (a restarted controller, another replica) meets the earlier one
// under its content-derived name instead of adding another; a repeat after
// repeatAfterMs becomes a series on the same object.
import anyTest, { type TestFn } from 'ava';
import { EventsV1Api } from '@kubernetes/client-node';
import { systemClock } from '../../src/clock/index.ts';
import { EventRecorder, type EventSpec } from '../../src/kube/events.ts';
import { startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane }>;

test.before(async (t) => {
  t.context.cp = await startControlPlane();
});
test.after.always(async (t) => {
  await t.context.cp.stop();
});

const recorder = (cp: ControlPlane, repeatAfterMs?: number): EventRecorder =>
  new EventRecorder({
    kube: cp.kube,
    clock: systemClock,
    instance: 'controller-0',
    ...(repeatAfterMs === undefined ? {} : { repeatAfterMs }),
  });

const spec = (namespace: string): EventSpec => ({
  regarding: { apiVersion: 'v1', kind: 'Service', namespace, name: 'web', uid: 'uid-1' },
  type: 'Warning',
  reason: 'RequestedIPOutsidePools',
  action: 'Allocate',
  note: '203.0.113.50 is in no pool',
});

const listed = async (cp: ControlPlane, namespace: string) =>
  (await cp.kubeConfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace })).items.filter(
    (e) => e.reason === 'RequestedIPOutsidePools',
  );

test('a restarted recorder does not record the same Event again', async (t) => {
  const { cp } = t.context;
  const ns = await cp.newNamespace('events');
  t.true(recorder(cp).record(spec(ns)));
  await waitFor('the first Event', async () => (await listed(cp, ns)).length === 1);
  const restarted = recorder(cp);
  t.true(restarted.record(spec(ns)), 'a new process has no memory of it: it asks the API server');
  await waitFor('the API server to have answered', () => restarted.suppressedAfterRestart === 1);
  t.is((await listed(cp, ns)).length, 1, 'still one Event');
});

test('a repeat after repeatAfterMs, from a new process, becomes a series on the same Event', async (t) => {
  const { cp } = t.context;
  const ns = await cp.newNamespace('events');
  const first = Date.now();
  recorder(cp, 300).record(spec(ns));
  await waitFor('the first Event', async () => (await listed(cp, ns)).length === 1);
  await waitFor('repeatAfterMs to pass', () => Date.now() - first > 400, 2_000, 20);
  recorder(cp, 300).record(spec(ns));
  const [event] = await waitFor('a series', async () => {
    const items = await listed(cp, ns);
    return items[0]?.series?.count === 2 ? items : undefined;
  });
  t.is((await listed(cp, ns)).length, 1);
  t.truthy(event?.series?.lastObservedTime);
});
