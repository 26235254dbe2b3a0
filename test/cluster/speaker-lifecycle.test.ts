// A speaker started and stopped 100 times in one process leaves nothing
// behind: no timer of its own once stop() returns, and no timer, socket or
// other handle at all a few seconds later (dependencies' included). Run in
// process against the real API server, answering on lo (needs root: packet
// sockets). Its Pod does not exist, so every identity publish fails and arms
// a retry: the case where a retry used to be armed after stop().
import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { WIRE_DEFAULTS } from '../../src/arp/index.ts';
import { systemClock } from '../../src/clock/index.ts';
import { KubeClient } from '../../src/kube/client/index.ts';
import { LAN_FAST, WATCH_DEFAULTS } from '../../src/mesh/index.ts';
import { Speaker } from '../../src/speaker/index.ts';
import { installCrds, startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import { freePort } from '../../lab/testbed/ports.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ cp: ControlPlane }>;

/**
 * Timers pending now, by who armed them: meshlb's code (the first frame of
 * the arming stack outside Node's internals is under src/) or a dependency.
 * setTimeout is wrapped for this file's run only.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
/** Handle → 'meshlb', or the arming frame of a dependency. */
const pending = new Map<ReturnType<typeof setTimeout>, string>();
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(2)
    .filter((f) => !f.includes('node:'));
  const first = frames[0] ?? '';
  const handle = realSetTimeout(() => {
    pending.delete(handle);
    fn(...args);
  }, ms);
  pending.set(handle, first.includes(SRC) ? 'meshlb' : first.trim());
  return handle;
}) as typeof setTimeout;
globalThis.clearTimeout = ((handle: ReturnType<typeof setTimeout> | undefined) => {
  if (handle !== undefined) pending.delete(handle);
  realClearTimeout(handle);
}) as typeof clearTimeout;
const meshlbTimers = (): number => [...pending.values()].filter((v) => v === 'meshlb').length;

test.before(async (t) => {
  t.context.cp = await startControlPlane();
  await installCrds(t.context.cp);
});
test.after.always(async (t) => {
  await t.context.cp.stop();
});

/** Active handles and requests by type (Timeout, TCPSocketWrap, UDPWrap, …). */
function resources(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

const excess = (now: Map<string, number>, before: Map<string, number>): string[] =>
  [...now]
    .filter(([k, n]) => n > (before.get(k) ?? 0))
    .map(([k, n]) => `${k}: ${before.get(k) ?? 0} -> ${n}`);

test('start and stop 100 times: no timer and no handle left', async (t) => {
  t.timeout(180_000);
  const { cp } = t.context;
  const namespace = await cp.newNamespace('lifecycle');
  const kube = new KubeClient(cp.kube.target);
  const log = pino({ level: 'silent' });
  const networkKey = new Uint8Array(randomBytes(32));
  const before = resources();
  const timersLeft: string[] = [];
  for (let i = 0; i < 100; i++) {
    const speaker = new Speaker({
      kube,
      clock: systemClock,
      log,
      nodeName: 'n1',
      podName: 'speaker-n1',
      namespace,
      meshAddress: '127.0.0.1',
      meshPort: await freePort(),
      networkKey,
      privateKey: await generateKeyPair('Ed25519'),
      mesh: LAN_FAST,
      watch: WATCH_DEFAULTS,
      wire: WIRE_DEFAULTS,
      interfaces: ['lo'],
      handoffTimeoutMs: 1_000,
      identityRetryMs: 5,
    });
    await speaker.start();
    await speaker.stop({ handoff: i % 2 === 0 });
    // meshlb's timers must all be gone the moment stop() returns. (libp2p
    // leaves its own for up to a second: its address manager's debounce.)
    const ours = meshlbTimers();
    if (ours > 0) timersLeft.push(`cycle ${i}: ${ours}`);
  }
  t.deepEqual(timersLeft, [], 'timers armed by src/ left right after stop()');
  kube.close();
  // Closing sockets finish on the next turns of the event loop: wait for it, with a deadline.
  const left = await waitFor(
    'every handle to close',
    () => (excess(resources(), before).length === 0 ? true : undefined),
    10_000,
    50,
  ).catch(() => false);
  t.true(left, `left behind: ${excess(resources(), before).join(', ')}`);
});
