import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock, Startable, Timer } from '../clock/index.ts';
import type { ClusterView, SavedView } from '../kube/world/index.ts';
import { writePrivateFile } from './private-file.ts';

/** The saved view's file name in the speaker's state directory (--state-dir). */
export const SAVED_VIEW_FILE = 'view.json';

/**
 * At most one write of the view per this interval: the view changes with
 * every Service and EndpointSlice update, and a large cluster's view is
 * megabytes; a restart within the interval restores what was current up to
 * 30 s before, which the mesh's claims (push-pull) bring up to date.
 */
export const SAVE_INTERVAL_MS = 30_000;

/**
 * A saved view older than this is not restored: the cluster may have changed
 * too much (Services deleted, pools edited) for its decisions to be worth
 * making. A day covers an API-server outage that outlasts a night.
 */
export const MAX_SAVED_VIEW_AGE_MS = 24 * 3_600_000;

const COLLECTIONS = ['nodes', 'services', 'endpointSlices', 'pools', 'advertisements', 'pods'] as const;

/**
 * Reads a saved view; undefined (with the reason logged) when there is none,
 * it is not one (another version, a broken file) or it is older than maxAgeMs.
 */
export async function readSavedView(
  file: string,
  now: number,
  log: Logger,
  maxAgeMs = MAX_SAVED_VIEW_AGE_MS,
): Promise<SavedView | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn({ err, file }, 'cannot read the saved view');
    return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const o = v as Partial<SavedView> | undefined;
  if (o?.version !== 1 || typeof o.savedAt !== 'number' || COLLECTIONS.some((k) => !Array.isArray(o[k]))) {
    log.warn({ file }, 'the saved view is not one this speaker reads: not restoring it');
    return undefined;
  }
  const age = now - o.savedAt;
  if (age > maxAgeMs) {
    log.warn({ file, ageMs: age }, 'the saved view is too old to decide on: not restoring it');
    return undefined;
  }
  // Whatever the file holds, only objects with a name reach the informers.
  const named = (x: unknown): boolean => {
    const meta = (x as { metadata?: { name?: unknown } } | null)?.metadata;
    return typeof meta?.name === 'string' && meta.name !== '';
  };
  const v1 = o as SavedView;
  return {
    ...v1,
    nodes: v1.nodes.filter(named),
    services: v1.services.filter(named),
    endpointSlices: v1.endpointSlices.filter(named),
    pools: v1.pools.filter(named),
    advertisements: v1.advertisements.filter(named),
    pods: v1.pods.filter(named),
  };
}

/**
 * Each informer of `view` has made its first attempt: if the lists failed (the
 * API server unreachable: a speaker restarted during an outage), the view
 * saved in `file` stands in until they succeed, so that the speaker rejoins
 * the mesh (its peer key is the one its Pod publishes) and decides as before.
 */
export async function restoreIfUnsynced(
  view: ClusterView,
  file: string,
  clock: Clock,
  log: Logger,
): Promise<void> {
  if (view.synced) return;
  const saved = await readSavedView(file, clock.wallNow(), log);
  if (saved === undefined || !view.restore(saved)) return;
  log.warn(
    { savedAt: new Date(saved.savedAt).toISOString(), ageMs: clock.wallNow() - saved.savedAt },
    'the API server did not answer: deciding on the view saved on this node until it does',
  );
}

/**
 * Writes the view to the state directory when it changed, at most once per
 * SAVE_INTERVAL_MS (the first change at once), whole or not at all, mode
 * 0600 (it names the cluster's nodes and addresses: writePrivateFile). A write
 * that fails is logged once per failure streak and retried at the next change.
 */
export class ViewSaver implements Startable {
  readonly #file: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #take: () => SavedView | undefined;
  #timer: Timer | undefined;
  #lastAt = -Infinity;
  /** Changes reported so far, and how many the last write covered. */
  #changes = 0;
  #saved = 0;
  #writing = false;
  #failing = false;
  #stopped = false;

  constructor(init: { file: string; clock: Clock; log: Logger; take: () => SavedView | undefined }) {
    this.#file = init.file;
    this.#clock = init.clock;
    this.#log = init.log;
    this.#take = init.take;
  }

  start(): void {
    // Nothing to arm: the first change of the view schedules the first write.
  }

  /** The view changed: save it now, or when the interval since the last write is over. */
  changed(): void {
    if (this.#stopped) return;
    this.#changes++;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#writing || this.#stopped) return;
    const wait = Math.max(0, this.#lastAt + SAVE_INTERVAL_MS - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#write();
    }, wait);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  async #write(): Promise<void> {
    const view = this.#take();
    if (view === undefined || this.#stopped) return;
    this.#saved = this.#changes;
    this.#writing = true;
    this.#lastAt = this.#clock.now();
    try {
      await writePrivateFile(this.#file, JSON.stringify(view));
      if (this.#failing) this.#log.info({ file: this.#file }, 'the view is saved again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#log.warn({ err, file: this.#file }, 'cannot save the view');
      this.#failing = true;
    } finally {
      this.#writing = false;
    }
    // Changes while it wrote: one more write, after the interval.
    if (this.#changes !== this.#saved) this.#schedule();
  }
}
