/**
 * Mesh soak (issue 16, item 8): what a speaker's mesh keeps per node name
 * stays bounded however many names it hears and however many members come and go.
 *
 *   node --expose-gc bench/mesh-soak.ts [--senders 10000] [--cycles 1000] [--parallel 10]
 *
 * Measured: the mesh alone (one real libp2p speaker with its datagram path, in
 * this process, on loopback), not a whole speaker as a node runs it.
 *
 * 1. Flood: a holder of the mesh key sends keyed pings from `senders` invented
 *    node names, 100 at a time; after every 1,000 names, the sizes of the
 *    per-node tables (transport: peer IDs, datagram addresses, endpoints,
 *    knocks; core: members, the push-pull rate limit) and the heap after a
 *    full GC.
 * 2. Churn: `cycles` real members (each a new libp2p node with a new identity,
 *    in a child process, so that what they leave behind is not counted as the
 *    target's) join the target `parallel` at a time, are seen alive, leave and
 *    stop; the target reaps them (reapAfterMs 2 s here: the default 5 min would make a
 *    run last hours). After every 10 % of the cycles: the same tables, libp2p's
 *    peer store and connections, and the heap after a full GC.
 *
 * "Flat" is the judgement: the heap at the end of each phase against its
 * first checkpoint, and every table within its bound.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import type { Endpoint } from '../src/mesh/index.ts';
import { encode } from '../src/mesh/codec.ts';
import { checkKey, seal, udpAddressOf } from '../src/mesh/libp2p/datagram.ts';
import { MAX_TRACKED_NODES } from '../src/mesh/libp2p/transport.ts';
import { poll } from '../lab/testbed/poll.ts';
import { identity, newNetworkKey, startSpeaker, type Speaker } from '../lab/testbed/speakers/in-process.ts';

const { values } = parseArgs({
  options: {
    senders: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '10' },
    /** Internal: run as the churn child (target endpoint JSON, key hex). */
    churner: { type: 'string' },
  },
});
if (values.churner !== undefined) {
  await churner(values.churner);
  process.exit(0);
}
const SENDERS = Number(values.senders);
const CYCLES = Number(values.cycles);
const PARALLEL = Number(values.parallel);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (the heap is read after a full GC)');

const REAP_AFTER_MS = 2_000;
const key = newNetworkKey();
const target = await startSpeaker({
  id: await identity('target'),
  networkKey: key,
  datagram: true,
  config: { reapAfterMs: REAP_AFTER_MS },
});

interface Checkpoint {
  phase: string;
  done: number;
  heapMiB: number;
  rssMiB: number;
  tables: Record<string, number>;
}
const checkpoints: Checkpoint[] = [];

async function checkpoint(phase: string, done: number): Promise<void> {
  gc?.();
  await delay(10);
  gc?.();
  const mem = process.memoryUsage();
  const t = target.transport.tracked();
  const m = target.membership.tracked();
  const c: Checkpoint = {
    phase,
    done,
    heapMiB: mem.heapUsed / 2 ** 20,
    rssMiB: mem.rss / 2 ** 20,
    tables: {
      ...t,
      members: m.members,
      asked: m.asked,
      refused: m.refused,
      peerStore: (await target.node.peerStore.all()).length,
      connections: target.node.getConnections().length,
    },
  };
  checkpoints.push(c);
  const tables = Object.entries(c.tables)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `${phase.padEnd(5)} ${String(done).padStart(6)}  heap ${c.heapMiB.toFixed(1)} MiB  rss ${c.rssMiB.toFixed(0)} MiB  ${tables}`,
  );
}

// 1. Flood from invented names.
const udp = udpAddressOf(target.transport.endpoint.addrs);
if (udp === undefined) throw new Error('the target has no datagram address');
const sealKey = checkKey(key);
const socket = createSocket('udp4');
await checkpoint('flood', 0);
for (let batch = 0; batch < SENDERS / 100; batch++) {
  for (let i = batch * 100; i < (batch + 1) * 100; i++) {
    const ping = encode({ type: 'ping', seq: i, from: `invented-${i}`, target: 'target', piggyback: [] });
    socket.send(seal(sealKey, ping), udp.port, udp.address);
  }
  // Each batch let in before the next (one socket buffer); a lost datagram is no matter.
  const want = (batch + 1) * 100 * 0.9;
  await poll(() => target.transport.stats.datagramsIn >= want, 5_000, 5);
  if (((batch + 1) * 100) % 1_000 === 0) await checkpoint('flood', (batch + 1) * 100);
}
socket.close();

// 2. Members joining and leaving, started by a child process.
const child = spawn(
  process.execPath,
  [
    fileURLToPath(import.meta.url),
    '--churner',
    JSON.stringify({ endpoint: target.transport.endpoint, key: Buffer.from(key).toString('hex') }),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function ask(line: string): Promise<string[]> {
  child.stdin.write(`${line}\n`);
  const r = await replies.next();
  if (r.done === true) throw new Error('the churn child exited');
  return JSON.parse(r.value) as string[];
}
let cycle = 0;
await checkpoint('churn', 0);
while (cycle < CYCLES) {
  const n = Math.min(PARALLEL, CYCLES - cycle);
  const names = await ask(`start ${n} ${cycle}`);
  const alive = await poll(() => names.every((x) => target.membership.stateOf(x) === 'alive'), 10_000, 10);
  if (alive === undefined) throw new Error(`cycle ${cycle}: the target did not see every new member alive`);
  await ask('leave');
  const gone = (x: string): boolean => ['left', 'dead', undefined].includes(target.membership.stateOf(x));
  await poll(() => names.every(gone), 10_000, 10);
  cycle += n;
  if (cycle % Math.max(1, Math.floor(CYCLES / 10)) === 0) {
    // Past reapAfterMs, so what left is reaped before this checkpoint.
    await poll(() => target.membership.tracked().members === 1, REAP_AFTER_MS * 5, 50);
    await checkpoint('churn', cycle);
  }
}
child.stdin.end();
await target.stop();

const report = (phase: string): void => {
  const cs = checkpoints.filter((c) => c.phase === phase);
  const first = cs[0];
  const last = cs.at(-1);
  if (first === undefined || last === undefined) return;
  const max = (k: string): number => Math.max(...cs.map((c) => c.tables[k] ?? 0));
  const peakHeap = Math.max(...cs.map((c) => c.heapMiB));
  console.log(
    `${phase}: heap after GC ${first.heapMiB.toFixed(1)} → ${last.heapMiB.toFixed(1)} MiB (peak ${peakHeap.toFixed(1)});` +
      ` largest tables: udp ${max('udp')}, endpoints ${max('endpoints')}, peers ${max('peers')}, knocks ${max('knocks')}` +
      ` (bound ${MAX_TRACKED_NODES}), asked ${max('asked')} (bound 1000), members ${max('members')},` +
      ` peer store ${max('peerStore')} → ${last.tables.peerStore ?? 0}`,
  );
};
report('flood');
report('churn');

/** The churn child: `start N FROM` starts N members and joins them to the target; `leave` makes them leave and stop. */
async function churner(arg: string): Promise<void> {
  const { endpoint, key: hex } = JSON.parse(arg) as { endpoint: Endpoint; key: string };
  const networkKey = new Uint8Array(Buffer.from(hex, 'hex'));
  let members: Speaker[] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, n, from] = line.split(' ');
    if (cmd === 'start') {
      const ids = await Promise.all(
        Array.from({ length: Number(n) }, (_, i) => identity(`churn-${Number(from) + i}`)),
      );
      members = await Promise.all(ids.map((id) => startSpeaker({ id, networkKey, datagram: true })));
      for (const m of members) m.membership.join([endpoint]);
      process.stdout.write(`${JSON.stringify(members.map((m) => m.name))}\n`);
    } else if (cmd === 'leave') {
      for (const m of members) m.membership.leave();
      await delay(50); // the leave goes out before the process's nodes stop
      await Promise.all(members.map((m) => m.stop()));
      process.stdout.write('[]\n');
    }
  }
}
