/**
 * Runs in the lab's client namespace: opens a TCP connection to <ip>:<port>
 * every <interval> ms (each with a <timeout> ms deadline), reads the node name
 * the lab's HTTP endpoint answers, and prints one JSON line per attempt:
 * {"t": wall-clock ms at the start, "ok": bool, "node": name | null, "ms": duration}.
 * argv: <ip> <port> <intervalMs> <timeoutMs>.
 */
import { connect } from 'node:net';

const [ip = '', port = '80', interval = '10', timeout = '200'] = process.argv.slice(2);

function attempt(): void {
  const t = performance.timeOrigin + performance.now();
  const socket = connect({ host: ip, port: Number(port) });
  let body = '';
  let done = false;
  const finish = (ok: boolean): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    const node = ok ? (body.split('\r\n\r\n')[1]?.trim() ?? null) : null;
    process.stdout.write(
      `${JSON.stringify({ t, ok: ok && node !== null && node !== '', node, ms: performance.timeOrigin + performance.now() - t })}\n`,
    );
  };
  const timer = setTimeout(() => {
    finish(false);
  }, Number(timeout));
  socket.on('connect', () => {
    socket.write(`GET / HTTP/1.0\r\nHost: ${ip}\r\n\r\n`);
  });
  socket.on('data', (d: Buffer) => {
    body += d.toString();
  });
  socket.on('end', () => {
    finish(true);
  });
  socket.on('error', () => {
    finish(false);
  });
}

setInterval(attempt, Number(interval));
attempt();
