// Failover with real speakers: separate processes, mesh over libp2p on
// loopback, FastWatch and the election (no wire yet: "announce" is the
// decision). Bounds here are generous (CI on 2 busy cores); the figures are
// measured by bench/election-real.ts.
import anyTest, { type TestFn } from 'ava';
import { ElectionCluster, wallNow, type MemberProcess } from '../../lab/testbed/speakers/index.ts';

const test = anyTest.serial as TestFn<{ cluster: ElectionCluster }>;

anyTest.before(async (t) => {
  const cluster = new ElectionCluster({ members: 4, runtime: 'ts', nodeFlags: '' });
  (t.context as { cluster: ElectionCluster }).cluster = cluster;
  await cluster.boot();
});

anyTest.after.always((t) => {
  (t.context as { cluster?: ElectionCluster }).cluster?.stop();
});

/** An announcer other than the seed, and the IPs it holds. */
function victimOf(c: ElectionCluster): { name: string; held: string[]; proc: MemberProcess } {
  const holders = [...new Set([...c.claims.values()].map((x) => x.node))].filter((n) => n !== c.names[0]);
  const name = holders[0];
  if (name === undefined) throw new Error('no announcer besides the seed');
  const held = [...c.claims.values()].filter((x) => x.node === name).map((x) => x.ip);
  return { name, held, proc: c.members.get(name) as MemberProcess };
}

function takenOver(c: ElectionCluster, victim: string, held: string[], since: number): boolean {
  return held.every((ip) => c.announces.some((a) => a.ip === ip && a.by !== victim && a.t >= since));
}

async function restart(c: ElectionCluster, name: string): Promise<void> {
  c.members.get(name)?.proc.kill('SIGKILL');
  const fresh = await c.start(name);
  fresh.send({ join: [c.first.endpoint] });
  await c.until('the mesh to converge again', () => c.converged(), 20_000);
  for (const m of c.members.values()) c.settle(m);
}

test('kill -9 of the announcer: an heir takes over every IP it held, with a higher epoch', async (t) => {
  const { cluster } = t.context;
  const v = victimOf(cluster);
  const epochs = new Map(v.held.map((ip) => [ip, cluster.claims.get(ip)?.epoch ?? 0]));
  const at = wallNow();
  v.proc.proc.kill('SIGKILL');
  await cluster.until('the heirs to take over', () => takenOver(cluster, v.name, v.held, at), 2_000);
  for (const ip of v.held) t.true((cluster.claims.get(ip)?.epoch ?? 0) > (epochs.get(ip) ?? 0));
  await restart(cluster, v.name);
});

test('SIGSTOP of the announcer (no FIN): an heir takes over', async (t) => {
  const { cluster } = t.context;
  const v = victimOf(cluster);
  const at = wallNow();
  v.proc.proc.kill('SIGSTOP');
  await cluster.until('the heirs to take over', () => takenOver(cluster, v.name, v.held, at), 3_000);
  v.proc.proc.kill('SIGCONT');
  t.pass();
  await restart(cluster, v.name);
});

test('SIGTERM: the successors announce before the old announcer stops (make-before-break)', async (t) => {
  const { cluster } = t.context;
  const v = victimOf(cluster);
  const at = wallNow();
  v.proc.proc.kill('SIGTERM');
  await cluster.until('the old announcer to stop', () =>
    v.held.every((ip) => cluster.withdraws.some((w) => w.by === v.name && w.ip === ip && w.t >= at)),
  );
  for (const ip of v.held) {
    const started = cluster.announces.find((a) => a.ip === ip && a.by !== v.name && a.t >= at);
    const stopped = cluster.withdraws.find((w) => w.by === v.name && w.ip === ip && w.t >= at);
    t.truthy(started, `nobody took ${ip}`);
    t.true(
      (started?.t ?? Infinity) < (stopped?.t ?? 0),
      `${ip}: successor started after the old one stopped`,
    );
  }
  await restart(cluster, v.name);
});

test('a Node turning NotReady moves its IPs without waiting for the mesh; Ready again takes nothing back', async (t) => {
  const { cluster } = t.context;
  const v = victimOf(cluster);
  const at = wallNow();
  for (const m of cluster.members.values()) m.send({ nodeReady: { name: v.name, ready: 'False' } });
  await cluster.until('the IPs to move', () => takenOver(cluster, v.name, v.held, at), 2_000);
  await cluster.until('the old announcer to withdraw', () =>
    v.held.every((ip) => cluster.withdraws.some((w) => w.by === v.name && w.ip === ip && w.t >= at)),
  );
  const count = cluster.announces.length;
  const since = wallNow();
  for (const m of cluster.members.values()) m.send({ nodeReady: { name: v.name, ready: 'True' } });
  // Every member reports the update applied after its reconcile: then nothing may have moved back.
  await cluster.until('every member to apply the update', () =>
    cluster.names.every((n) =>
      cluster.applied.some((a) => a.by === n && a.node === v.name && a.ready === 'True' && a.t >= since),
    ),
  );
  t.false(cluster.announces.slice(count).some((a) => a.by === v.name));
});
