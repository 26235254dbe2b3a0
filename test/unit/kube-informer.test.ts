// A watch against an API server that is not there: the informer must back off
// (doubling, jittered, capped) and say so once, not retry every second with a
// warning and a stack trace each time (it did: client-node's "connect" before
// every attempt reset the backoff).
import test from 'ava';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { V1Node } from '@kubernetes/client-node';
import pino from 'pino';
import { systemClock } from '../../src/clock/index.ts';
import { KubeClient, type KubeList } from '../../src/kube/client/index.ts';
import { SupervisedInformer } from '../../src/kube/informer.ts';

test('an unreachable API server: retries back off to the cap, one warning, then debug lines', async (t) => {
  // A port nothing listens on (taken, then released): connections are refused.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => {
        resolve(p);
      });
    });
  });
  const client = new KubeClient({ server: `https://127.0.0.1:${port}`, insecureSkipTlsVerify: true });
  const lines: { level: number; msg: string; retryInMs?: number; error?: string }[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (s: string) => lines.push(JSON.parse(s) as (typeof lines)[0]) },
  );
  const informer = new SupervisedInformer<V1Node>({
    client,
    clock: systemClock,
    path: '/api/v1/nodes',
    onAdd: () => undefined,
    onUpdate: () => undefined,
    onDelete: () => undefined,
    log,
    initialBackoffMs: 40,
    maxBackoffMs: 320,
  });
  await informer.start().catch(() => undefined);
  await delay(1_500);
  await informer.stop();
  // 40, 80, 160, 320, 320, … (each drawn in its upper half): about 7 in 1.5 s; a fixed 40 ms would be ~35.
  t.true(informer.restarts >= 3 && informer.restarts <= 12, `${informer.restarts} restarts`);
  const warnings = lines.filter((l) => l.level === 40);
  t.is(warnings.length, 1, 'one warning for the state change');
  t.regex(warnings[0]?.error ?? '', /ECONNREFUSED/, 'the cause, not only "fetch failed"');
  t.false(JSON.stringify(lines).includes('"stack"'), 'no stack traces');
  const waits = lines.map((l) => l.retryInMs ?? 0);
  t.true(Math.max(...waits) <= 320, `capped: ${waits.join(', ')}`);
  t.true(
    waits.slice(0, 3).every((w, i) => w >= 40 * 2 ** i * 0.5 && w <= 40 * 2 ** i),
    `doubling, jittered: ${waits.join(', ')}`,
  );
});

test('stop() is final: a start() after it (a stand-down racing a start) lists nothing and arms nothing', async (t) => {
  let lists = 0;
  class Counting extends KubeClient {
    override list<T>(): Promise<KubeList<T>> {
      lists++;
      return Promise.resolve({ items: [] });
    }
  }
  const informer = new SupervisedInformer<V1Node>({
    client: new Counting({ server: 'https://127.0.0.1:1' }),
    clock: systemClock,
    path: '/api/v1/nodes',
    onAdd: () => undefined,
    onUpdate: () => undefined,
    onDelete: () => undefined,
  });
  await informer.stop();
  await informer.start();
  t.is(lists, 0);
  t.false(await informer.listed, 'listed settles false: stopped before any list');
});

test('seed: objects from a saved view stand in until the first list, which replaces them with the events that makes', async (t) => {
  const node = (name: string, rv: string): V1Node => ({ metadata: { name, resourceVersion: rv } });
  class Listing extends KubeClient {
    override list<T>(): Promise<KubeList<T>> {
      return Promise.resolve({
        items: [node('a', '2'), node('c', '1')] as T[],
        metadata: { resourceVersion: '10' },
      });
    }
  }
  const events: string[] = [];
  const informer = new SupervisedInformer<V1Node>({
    client: new Listing({ server: 'https://127.0.0.1:1' }),
    clock: systemClock,
    path: '/api/v1/nodes',
    onAdd: (o) => events.push(`add ${o.metadata?.name ?? ''}`),
    onUpdate: (o) => events.push(`update ${o.metadata?.name ?? ''}`),
    onDelete: (o) => events.push(`delete ${o.metadata?.name ?? ''}`),
    log: pino({ level: 'silent' }),
  });
  t.true(informer.seed([node('a', '1'), node('b', '1')]));
  t.deepEqual(
    informer.list().map((o) => o.metadata?.name),
    ['a', 'b'],
  );
  t.deepEqual(events, [], 'seeding is no event');
  await informer.start();
  t.true(await informer.listed);
  await informer.stop();
  t.deepEqual(events.sort(), ['add c', 'delete b', 'update a']);
  t.deepEqual(
    informer
      .list()
      .map((o) => `${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`)
      .sort(),
    ['a@2', 'c@1'],
  );
  t.false(informer.seed([node('z', '1')]), 'a listed cache is not seeded');
  t.is(informer.get('z'), undefined);
});
