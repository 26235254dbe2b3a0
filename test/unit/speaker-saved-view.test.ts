// The view saved on the node (src/speaker/saved-view.ts): read back only when
// it is one (version, shape) and young enough; written at once when first
// changed, then at most once per SAVE_INTERVAL_MS, 0600, a failure logged once.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import pino from 'pino';
import { VirtualClock } from '../../src/clock/index.ts';
import type { SavedView } from '../../src/kube/world/index.ts';
import {
  MAX_SAVED_VIEW_AGE_MS,
  readSavedView,
  SAVE_INTERVAL_MS,
  ViewSaver,
} from '../../src/speaker/saved-view.ts';

function capture(): { log: pino.Logger; msgs: string[] } {
  const msgs: string[] = [];
  const log = pino(
    { level: 'info' },
    { write: (s: string) => msgs.push((JSON.parse(s) as { msg: string }).msg) },
  );
  return { log, msgs };
}

function tmp(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-saved-view-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const view = (savedAt: number, services = 0): SavedView => ({
  version: 1,
  savedAt,
  nodes: [],
  services: Array.from({ length: services }, (_, i) => ({ metadata: { name: `s${i}` } })),
  endpointSlices: [],
  pools: [],
  advertisements: [],
  pods: [],
});

test('read back: a saved view; nothing for a missing, broken, other or too old one (with the reason)', async (t) => {
  const { log, msgs } = capture();
  const dir = tmp(t);
  const file = join(dir, 'view.json');
  t.is(await readSavedView(file, 1_000, log), undefined);
  t.deepEqual(msgs, [], 'none yet is no warning');
  writeFileSync(file, JSON.stringify(view(500, 2)));
  t.is((await readSavedView(file, 1_000, log))?.services.length, 2);
  // Items that are no objects with a name are left out, whatever else the file holds.
  writeFileSync(
    file,
    JSON.stringify({
      ...view(500, 1),
      nodes: [null, 7, {}, { metadata: { name: '' } }, { metadata: { name: 'n1' } }],
    }),
  );
  const cleaned = await readSavedView(file, 1_000, log);
  t.deepEqual(cleaned?.nodes, [{ metadata: { name: 'n1' } }]);
  t.is(cleaned?.services.length, 1);
  for (const text of [
    '{',
    JSON.stringify({ ...view(500), version: 2 }),
    JSON.stringify({ version: 1, savedAt: 5 }),
  ]) {
    writeFileSync(file, text);
    t.is(await readSavedView(file, 1_000, log), undefined, text);
  }
  t.is(msgs.filter((m) => m === 'the saved view is not one this speaker reads: not restoring it').length, 3);
  writeFileSync(file, JSON.stringify(view(0)));
  t.is(await readSavedView(file, MAX_SAVED_VIEW_AGE_MS + 1, log), undefined);
  t.true(msgs.includes('the saved view is too old to decide on: not restoring it'));
});

test('written at once, then at most once per interval, the latest view each time, 0600', async (t) => {
  const { log } = capture();
  const clock = new VirtualClock();
  const file = join(tmp(t), 'view.json');
  let services = 1;
  let takes = 0;
  const saver = new ViewSaver({
    file,
    clock,
    log,
    take: () => {
      takes++;
      return view(clock.wallNow(), services);
    },
  });
  const written = (): number => (JSON.parse(readFileSync(file, 'utf8')) as SavedView).services.length;
  const settle = async (): Promise<void> => {
    clock.advance(0);
    await delay(50); // the file system's own time
  };
  saver.changed();
  await settle();
  t.is(written(), 1, 'the first change at once');
  t.is(statSync(file).mode & 0o777, 0o600);
  services = 2;
  saver.changed();
  services = 3;
  saver.changed();
  await settle();
  t.is(written(), 1, 'not again within the interval');
  clock.advance(SAVE_INTERVAL_MS);
  await delay(50);
  t.is(written(), 3, 'after it, once, with the latest view');
  t.is(takes, 2);
  clock.advance(SAVE_INTERVAL_MS * 3);
  await delay(50);
  t.is(takes, 2, 'nothing changed: nothing written');
  services = 4;
  saver.changed();
  saver.stop();
  clock.advance(SAVE_INTERVAL_MS);
  await delay(50);
  t.is(written(), 3, 'stopped: nothing more');
});

test('a write that fails is logged once, retried at the next change, and its recovery said', async (t) => {
  const { log, msgs } = capture();
  const clock = new VirtualClock();
  const dir = tmp(t);
  const file = join(dir, 'missing-dir', 'view.json');
  const saver = new ViewSaver({ file, clock, log, take: () => view(clock.wallNow()) });
  for (let i = 0; i < 3; i++) {
    saver.changed();
    clock.advance(SAVE_INTERVAL_MS);
    await delay(50);
  }
  t.is(msgs.filter((m) => m === 'cannot save the view').length, 1);
  mkdirSync(join(dir, 'missing-dir'));
  saver.changed();
  clock.advance(SAVE_INTERVAL_MS);
  await delay(50);
  t.true(msgs.includes('the view is saved again'));
  saver.stop();
});
