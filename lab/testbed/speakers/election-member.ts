/**
 * One speaker's mesh + election for bench/election-real.ts, as its own OS
 * process (no wire yet: "announce" is the decision, printed with its time).
 * stdin (JSON lines): {"join": [endpoint…]}, {"settle": {nodes, ips, claims}},
 * {"nodeReady": {name, ready}} (a Node update from the API server).
 * SIGTERM: planned hand-off (leave the mesh, answer HANDOFF_MS more, exit).
 * stdout: {"ready": endpoint}; {"alive": n} on every membership change; then
 * {"announce": ip, "epoch": n, "t": ms} and {"withdraw": ip, "t": ms} whenever
 * this node's own decisions change; {"mesh": "suspect"|"dead", node, via, t} for
 * each suspicion and verdict this member records (t: wall-clock ms, comparable across processes).
 */
import { createInterface } from 'node:readline';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { systemClock } from '../../../src/clock/index.ts';
import { decide, type Claim, type NodeView, type World } from '../../../src/election/index.ts';
import { createMeshNode, Libp2pTransport } from '../../../src/mesh/libp2p/index.ts';
import { FastWatch, Membership, type Endpoint, type MemberState } from '../../../src/mesh/index.ts';

const name = process.env.MESH_NAME ?? 'member';
const networkKey = Buffer.from(process.env.MESH_KEY ?? '', 'hex');
const listen = process.env.MESH_LISTEN ?? '/ip4/127.0.0.1/tcp/0';
const privateKey = await generateKeyPair('Ed25519');
const node = await createMeshNode({
  privateKey,
  networkKey,
  listen: [listen],
  allow: [process.env.MESH_ALLOW ?? '/ip4/127.0.0.0/ipcidr/8'],
});
// Check traffic as datagrams on the same address (MESH_DATAGRAM=0 turns it off, to compare).
const host = listen.split('/')[2] ?? '127.0.0.1';
const transport = new Libp2pTransport(
  process.env.MESH_DATAGRAM === '0'
    ? { node }
    : { node, datagram: { host, port: 0, networkKey, privateKey } },
);
await transport.listen();
const membership = new Membership({
  node: name,
  endpoint: transport.endpoint,
  clock: systemClock,
  transport,
});
const watch = new FastWatch({ clock: systemClock, membership });
const t = (): number => performance.timeOrigin + performance.now();
const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

let settled: { nodes: string[]; ips: string[]; claims: Map<string, Claim> } | undefined;
/** Ready condition per node as the API server would deliver it (the parent sends updates). */
const readiness = new Map<string, NodeView['ready']>();
/**
 * Planned hand-off on SIGTERM: leave the mesh (the successors decide at once
 * on the 'left' update) and keep answering this long before stopping —
 * make-before-break. The speaker will wait for the successor's claim instead.
 */
const HANDOFF_MS = 300;
let leaving = false;
const mine = new Set<string>();

function world(): World | undefined {
  if (settled === undefined) return undefined;
  const nodes = new Map<string, NodeView>();
  const members = new Map<string, MemberState>();
  for (const n of settled.nodes) {
    nodes.set(n, {
      name: n,
      ready: readiness.get(n) ?? 'True',
      networkUnavailable: false,
      deleting: false,
      unschedulable: false,
      taints: [],
      labels: {},
    });
    const state = membership.stateOf(n);
    if (state !== undefined) members.set(n, watch.failed(n) ? 'dead' : state);
  }
  return {
    nodes,
    members,
    advertisements: [
      { name: 'l2', pools: ['default'], nodeSelectors: [], interfaces: [], cordon: 'keep', failback: false },
    ],
    ips: settled.ips.map((ip) => ({ ip, pool: 'default' })),
    claims: settled.claims,
  };
}

/** The reconcile step: decide, act on our own decisions, watch the announcers we are heir to. */
function reconcile(): void {
  const w = world();
  if (w === undefined || settled === undefined) return;
  const watched = new Set<string>();
  for (const d of decide(w)) {
    if (d.claim !== undefined) settled.claims.set(d.ip, d.claim);
    if (leaving) continue; // keep answering until the hand-off time is up
    if (d.announcer === name && !mine.has(d.ip)) {
      mine.add(d.ip);
      // Why: the previous holder's mesh state and whether our FastWatch failed it.
      const prev = d.previous;
      out({
        announce: d.ip,
        epoch: d.claim?.epoch,
        cause: d.cause,
        previous: prev,
        previousMesh: prev === undefined ? undefined : membership.stateOf(prev),
        previousWatchFailed: prev === undefined ? undefined : watch.failed(prev),
        t: t(),
      });
    } else if (d.announcer !== name && mine.delete(d.ip)) {
      out({ withdraw: d.ip, t: t() });
    }
    if (d.announcer !== undefined && d.heirs.includes(name)) watched.add(d.announcer);
  }
  if (!leaving) watch.watch(watched);
}

membership.onEvent((e) => {
  if (e.type === 'suspect' || e.type === 'dead')
    out({ mesh: e.type, node: e.node, via: e.evidence.via, t: t() });
  out({ alive: membership.members().filter((m) => m.state === 'alive').length });
  reconcile();
});
watch.onChange((n, failed) => {
  if (process.env.MESH_DEBUG !== undefined) out({ watch: n, failed, t: t() });
  reconcile();
});
await transport.start({
  handle: (m, opts) => {
    membership.handle(m, opts);
  },
  hint: (n) => {
    if (process.env.MESH_DEBUG !== undefined) out({ hint: n, t: t() });
    membership.hint(n);
    watch.hint(n);
  },
  unreachable: (n) => {
    if (process.env.MESH_DEBUG !== undefined) out({ unreachable: n, t: t() });
    membership.unreachable(n);
  },
});
membership.start();
process.once('SIGTERM', () => {
  leaving = true;
  watch.stop();
  membership.leave();
  setTimeout(() => {
    for (const ip of mine) out({ withdraw: ip, t: t() });
    process.exit(0);
  }, HANDOFF_MS);
});
out({ ready: transport.endpoint });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as {
    join?: Endpoint[];
    settle?: { nodes: string[]; ips: string[]; claims: Claim[] };
    nodeReady?: { name: string; ready: NodeView['ready'] };
  };
  if (cmd.nodeReady !== undefined) {
    readiness.set(cmd.nodeReady.name, cmd.nodeReady.ready);
    reconcile();
    out({ applied: 'nodeReady', node: cmd.nodeReady.name, condition: cmd.nodeReady.ready, t: t() });
  }
  if (cmd.join !== undefined) membership.join(cmd.join);
  if (cmd.settle !== undefined) {
    settled = { ...cmd.settle, claims: new Map(cmd.settle.claims.map((c) => [c.ip, c])) };
    reconcile();
  }
}
