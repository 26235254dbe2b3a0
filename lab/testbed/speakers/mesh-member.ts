/**
 * One speaker's mesh for bench/mesh-real.ts, as its own OS process: a real
 * libp2p node on 127.0.0.1 running the membership core. Reads commands as JSON
 * lines on stdin ({"join": [endpoint…]}) and writes JSON lines on stdout: first
 * {"ready": endpoint}, then one line per membership event with wall-clock time
 * in ms (performance.timeOrigin + now(), comparable across processes).
 */
import { createInterface } from 'node:readline';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { systemClock } from '../../../src/clock/index.ts';
import { createMeshNode, Libp2pTransport } from '../../../src/mesh/libp2p/index.ts';
import { Membership } from '../../../src/mesh/membership.ts';
import type { Endpoint } from '../../../src/mesh/messages.ts';

const name = process.env.MESH_NAME ?? 'member';
const networkKey = Buffer.from(process.env.MESH_KEY ?? '', 'hex');
const node = await createMeshNode({
  privateKey: await generateKeyPair('Ed25519'),
  networkKey,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  allow: ['/ip4/127.0.0.0/ipcidr/8'],
});
const transport = new Libp2pTransport({ node });
const membership = new Membership({
  node: name,
  endpoint: transport.endpoint,
  clock: systemClock,
  transport,
});
const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};
membership.onEvent((e) => {
  out({ ev: e.type, node: e.node, t: performance.timeOrigin + performance.now() });
});
await transport.start(membership);
membership.start();
out({ ready: transport.endpoint });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { join?: Endpoint[] };
  if (cmd.join !== undefined) membership.join(cmd.join);
}
