/**
 * Runs in the lab's client namespace: opens a TCP connection to <ip>:<port>
 * every <interval> ms (each with a <timeout> ms deadline), reads the node name
 * the lab's HTTP endpoint answers (and the client address it saw, when a
 * backend Pod answers `<node> <address>`: kubelet/backends.ts), and prints one
 * JSON line per attempt: {"t": wall-clock ms at the start, "ok": bool,
 * "node": name | null, "source": address | null, "ms": duration, and on a
 * failure "why": a timeout, the socket error's code, or an empty answer}.
 * argv: <ip> <port> <intervalMs> <timeoutMs>.
 */
import { connect } from 'node:net';

const [ip = '', port = '80', interval = '10', timeout = '200'] = process.argv.slice(2);

function attempt(): void {
  const t = performance.timeOrigin + performance.now();
  const socket = connect({ host: ip, port: Number(port) });
  let body = '';
  let done = false;
  let connected = false;
  const finish = (ok: boolean, why?: string): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    const [node = '', source = null] = ok ? (body.split('\r\n\r\n')[1]?.trim().split(' ') ?? []) : [];
    process.stdout.write(
      `${JSON.stringify({ t, ok: ok && node !== '', node: node === '' ? null : node, source, ms: performance.timeOrigin + performance.now() - t, ...(ok && node !== '' ? {} : { why: why ?? 'empty answer' }) })}\n`,
    );
  };
  const timer = setTimeout(() => {
    finish(false, connected ? 'no answer in time' : 'no connection in time');
  }, Number(timeout));
  socket.on('connect', () => {
    connected = true;
    socket.write(`GET / HTTP/1.0\r\nHost: ${ip}\r\n\r\n`);
  });
  socket.on('data', (d: Buffer) => {
    body += d.toString();
  });
  socket.on('end', () => {
    finish(true);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    finish(false, err.code ?? err.message);
  });
}

setInterval(attempt, Number(interval));
attempt();
