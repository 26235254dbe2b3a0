/**
 * Runs inside a host's network namespace (`ip netns exec`): accepts TCP on
 * <address>:<port> (address 127.0.0.1 unless given) and relays each connection to a Unix socket, which the
 * parent process (in the root namespace) relays to the API server. Unix
 * sockets are named in the file system, which namespaces share.
 * argv: <port> <socket path> [address]. Prints "listening" once ready.
 */
import { connect, createServer } from 'node:net';
import { splice } from './splice.ts';

const [port, path, address = '127.0.0.1'] = process.argv.slice(2);
if (port === undefined || path === undefined) throw new Error('usage: api-forwarder.ts <port> <unix socket>');
const server = createServer((inbound) => {
  splice(inbound, connect(path));
});
server.listen(Number(port), address, () => {
  process.stdout.write('listening\n');
});
