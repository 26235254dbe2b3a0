/**
 * Runs inside a lab node's namespace: answers HTTP on port 80 (IPv4 and IPv6)
 * with the node's name, so a client shows which node served a Service IP
 * (the node accepts the VIPs on `lo`, as kube-proxy in IPVS mode would).
 * argv: <node name>. Prints "listening" once ready.
 */
import { createServer } from 'node:http';

const name = process.argv[2] ?? 'unknown';
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`${name}\n`);
});
server.listen({ port: 80, host: '::', ipv6Only: false }, () => {
  process.stdout.write('listening\n');
});
