import test from 'ava';
import { FastWatch } from '../../src/mesh/watch.ts';
import { SimNetwork, type SimMember } from '../../src/mesh/sim/index.ts';

function setup(opts: { loss?: number; seed?: number } = {}) {
  const net = new SimNetwork({
    seed: opts.seed ?? 7,
    link: { latencyMs: 0.5, jitterMs: 0.2, loss: opts.loss ?? 0 },
  });
  const members = net.addConverged(8);
  net.run(1_000);
  const [announcer, heir] = [members[0] as SimMember, members[1] as SimMember];
  const watch = new FastWatch({ clock: heir.clock, membership: heir.core });
  const verdicts: { node: string; failed: boolean; at: number }[] = [];
  watch.onChange((node, failed) => verdicts.push({ node, failed, at: net.clock.now() }));
  watch.watch([announcer.name]);
  return { net, announcer, heir, watch, verdicts };
}

test('an heir reports a crashed announcer failed within the configured bound, long before the mesh', (t) => {
  const { net, announcer, heir, watch, verdicts } = setup();
  net.run(500);
  t.deepEqual(verdicts, []);
  const crashedAt = net.clock.now();
  net.crash(announcer.name);
  const at = net.runUntil(() => watch.failed(announcer.name), 1_000);
  t.not(at, undefined);
  const ms = (at as number) - crashedAt;
  const c = watch.config;
  t.true(ms <= c.intervalMs + c.confirmRounds * (c.timeoutMs + c.indirectTimeoutMs) + 5, `${ms} ms`);
  t.log(`verdict after ${ms.toFixed(1)} ms (a crash without RST: the hang case)`);
  // It also raised a suspicion, so the mesh converges on its own terms.
  t.true(['suspect', 'dead'].includes(heir.core.stateOf(announcer.name) ?? ''));
});

test('a 100 ms stall of the announcer is survived; the heir does not report it failed', (t) => {
  const { net, announcer, watch } = setup();
  net.run(200);
  net.stall(announcer.name, 100);
  net.run(1_000);
  t.false(watch.failed(announcer.name));
});

test('no false verdict in 2 simulated minutes with 5% loss on every link', (t) => {
  const { net, announcer, heir, watch, verdicts } = setup({ loss: 0.05, seed: 11 });
  net.run(120_000);
  t.deepEqual(verdicts, []);
  t.false(watch.failed(announcer.name));
  t.true(heir.core.stats.messagesSent.ping !== undefined);
});

test('unwatching stops the checks; a recovered member is reported alive again', (t) => {
  const { net, announcer, watch, verdicts } = setup();
  net.stall(announcer.name, 400);
  net.runUntil(() => watch.failed(announcer.name), 1_000);
  t.true(watch.failed(announcer.name));
  net.run(600);
  t.false(watch.failed(announcer.name), 'the stalled announcer answers again after its stall');
  t.deepEqual(
    verdicts.map((v) => v.failed),
    [true, false],
  );
  watch.watch([]);
  t.deepEqual(watch.watching, []);
});
