// EndpointServer over real HTTP on loopback: routes, 404/405, HEAD, readiness
// verdicts, a throwing collector or check (500 and a log line, never a crash),
// listen addresses (parsing, errors), close with idle keep-alive connections.
import { request as httpRequest, Agent } from 'node:http';
import test from 'ava';
import { Counter, Registry } from 'prom-client';
import {
  createRegistry,
  Endpoints,
  EndpointListenError,
  EndpointServer,
  type Readiness,
} from '../../src/metrics/index.ts';
import { ListenAddressError, parseListenAddress } from '../../src/ip/index.ts';
import { controllerReadiness } from '../../src/cli/controller.ts';
import { capturingLog } from '../helpers/log.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, method = 'GET', agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(opts: {
  registry?: Registry;
  ready?: () => Readiness;
  health?: () => Readiness;
  debug?: Record<string, () => unknown>;
}): Promise<{ server: EndpointServer; port: number; lines: Record<string, unknown>[] }> {
  const { log, lines } = capturingLog();
  const server = new EndpointServer({
    registry: opts.registry ?? createRegistry('speaker'),
    log,
    ready: opts.ready ?? (() => ({ ready: true, reasons: [] })),
    ...(opts.health ? { health: opts.health } : {}),
    ...(opts.debug ? { debug: opts.debug } : {}),
  });
  const { port } = await server.listen('127.0.0.1:0');
  return { server, port, lines };
}

test('GET /metrics: the text format with build info and default metrics', async (t) => {
  const registry = createRegistry('controller');
  const { server, port } = await serve({ registry });
  t.teardown(() => server.close());
  const r = await get(port, '/metrics');
  t.is(r.status, 200);
  t.is(r.headers['content-type'], registry.contentType);
  t.regex(
    r.body,
    /^meshlb_build_info\{version="[^"]+",node_version="v\d+\.\d+\.\d+",component="controller"\} 1$/m,
  );
  // The default process and Node.js metrics under their standard names (stock dashboards).
  t.regex(r.body, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
  t.regex(r.body, /^# TYPE process_cpu_seconds_total counter$/m);
  t.regex(r.body, /^# TYPE process_resident_memory_bytes gauge$/m);
  t.notRegex(r.body, /^meshlb_(process|nodejs)_/m);
  // Every metric is meshlb's (prefixed) or a standard process or Node.js one.
  const names = [...r.body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1] ?? '');
  t.true(names.length > 10);
  t.deepEqual(
    names.filter((n) => !/^(meshlb|process|nodejs)_/.test(n)),
    [],
  );
  // A query string does not change the route.
  t.is((await get(port, '/metrics?debug=1')).status, 200);
});

test('HEAD: the same status and headers, no body', async (t) => {
  const { server, port } = await serve({ ready: () => ({ ready: false, reasons: ['caches not synced'] }) });
  t.teardown(() => server.close());
  const m = await get(port, '/metrics', 'HEAD');
  t.is(m.status, 200);
  t.is(m.body, '');
  t.true(Number(m.headers['content-length']) > 0);
  const r = await get(port, '/readyz', 'HEAD');
  t.is(r.status, 503);
  t.is(r.body, '');
});

test('/healthz and /readyz: 200 ok, or 503 with the reasons', async (t) => {
  let ready: Readiness = { ready: false, reasons: ['caches not synced', 'mesh not joined'] };
  let health: Readiness = { ready: true, reasons: [] };
  const { server, port } = await serve({ ready: () => ready, health: () => health });
  t.teardown(() => server.close());
  t.like(await get(port, '/healthz'), { status: 200, body: 'ok\n' });
  const r = await get(port, '/readyz');
  t.is(r.status, 503);
  t.is(r.body, 'not ready: caches not synced; mesh not joined\n');
  t.regex(String(r.headers['content-type']), /^text\/plain/);
  ready = { ready: true, reasons: [] };
  t.like(await get(port, '/readyz'), { status: 200, body: 'ok\n' });
  health = { ready: false, reasons: ['event loop stalled'] };
  t.like(await get(port, '/healthz'), { status: 503, body: 'not ready: event loop stalled\n' });
});

test('/healthz without a health check: healthy while the process answers', async (t) => {
  const { server, port } = await serve({});
  t.teardown(() => server.close());
  t.like(await get(port, '/healthz'), { status: 200, body: 'ok\n' });
});

test('/debug/<name>: JSON (bigints as strings, Maps as objects, Sets as arrays); others 404', async (t) => {
  const { server, port } = await serve({
    debug: {
      mesh: () => ({ members: new Map([['n1', 'alive']]), big: 2n ** 64n, set: new Set(['a']) }),
    },
  });
  t.teardown(() => server.close());
  const r = await get(port, '/debug/mesh');
  t.is(r.status, 200);
  t.regex(String(r.headers['content-type']), /^application\/json/);
  t.deepEqual(JSON.parse(r.body), { members: { n1: 'alive' }, big: '18446744073709551616', set: ['a'] });
  for (const path of ['/debug/nope', '/debug/', '/debug', '/debug/toString', '/', '/metricsx', '/readyz/x'])
    t.is((await get(port, path)).status, 404, path);
});

test('only GET and HEAD: anything else is 405 with Allow', async (t) => {
  const { server, port } = await serve({});
  t.teardown(() => server.close());
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await get(port, '/metrics', method);
    t.is(r.status, 405, method);
    t.is(r.headers.allow, 'GET, HEAD');
  }
});

test('a collector that throws: 500 and an error log line; the server keeps serving', async (t) => {
  const registry = new Registry();
  let broken = true;
  new Counter({
    name: 'meshlb_test_total',
    help: 'test',
    registers: [registry],
    collect() {
      if (broken) throw new Error('stats source went away');
    },
  });
  const { server, port, lines } = await serve({
    registry,
    ready: () => {
      throw new Error('readiness check failed');
    },
    debug: {
      bad: () => {
        throw new Error('debug failed');
      },
    },
  });
  t.teardown(() => server.close());
  const r = await get(port, '/metrics');
  t.is(r.status, 500);
  t.is(r.body, 'internal error (see the process log)\n');
  t.is((await get(port, '/readyz')).status, 500);
  t.is((await get(port, '/debug/bad')).status, 500);
  const errors = lines.filter((l) => l.msg === 'endpoint request failed');
  t.is(errors.length, 3);
  t.is(errors[0]?.level, 50);
  t.is((errors[0]?.err as { message?: string } | undefined)?.message, 'stats source went away');
  t.is(errors[0]?.url, '/metrics');
  broken = false;
  const ok = await get(port, '/metrics');
  t.is(ok.status, 200);
  t.regex(ok.body, /^meshlb_test_total 0$/m);
});

test('listen addresses: host:port, :port, [ipv6]:port, host names', (t) => {
  t.deepEqual(parseListenAddress(':7472'), { host: '', port: 7472 });
  t.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  t.deepEqual(parseListenAddress('[::1]:7473'), { host: '::1', port: 7473 });
  t.deepEqual(parseListenAddress('[::]:7473'), { host: '::', port: 7473 });
  t.deepEqual(parseListenAddress('localhost:65535'), { host: 'localhost', port: 65535 });
  t.deepEqual(parseListenAddress('node-1.example.org:80'), { host: 'node-1.example.org', port: 80 });
});

test('a bad address: ListenAddressError saying what is wrong', async (t) => {
  for (const [addr, why] of [
    ['7472', /expected host:port/],
    ['', /expected host:port/],
    [':', /port must be a number/],
    [':65536', /port must be a number from 0 to 65535; got "65536"/],
    [':-1', /port must be a number/],
    [':http', /port must be a number/],
    ['::1:7472', /expected host:port/],
    ['[127.0.0.1]:80', /not an IPv6 address/],
    ['bad_host:80', /not an IP address or a host name/],
    ['off', /expected host:port/],
  ] as const) {
    const err = t.throws(() => parseListenAddress(addr), { name: 'ListenAddressError' }, addr);
    t.regex(err.message, why, addr);
    t.true(err instanceof ListenAddressError);
  }
  // listen() rejects the same way, without binding anything.
  const { log } = capturingLog();
  const server = new EndpointServer({
    registry: new Registry(),
    log,
    ready: () => ({ ready: true, reasons: [] }),
  });
  await t.throwsAsync(server.listen('nope'), { name: 'ListenAddressError' });
});

test('a port in use: EndpointListenError with the errno code; an address not on this host too', async (t) => {
  const first = await serve({});
  t.teardown(() => first.server.close());
  const { log, lines } = capturingLog();
  const second = new EndpointServer({
    registry: new Registry(),
    log,
    ready: () => ({ ready: true, reasons: [] }),
  });
  const err = await t.throwsAsync(second.listen(`127.0.0.1:${first.port}`), { name: 'EndpointListenError' });
  t.true(err instanceof EndpointListenError);
  t.is((err as EndpointListenError).code, 'EADDRINUSE');
  t.regex(err.message, /cannot listen on 127\.0\.0\.1:\d+: the port is in use \(EADDRINUSE\)/);
  t.deepEqual(lines, [], 'a failed listen is the caller’s to report');
  const far = await t.throwsAsync(second.listen('192.0.2.1:0'), { name: 'EndpointListenError' });
  t.is((far as EndpointListenError).code, 'EADDRNOTAVAIL');
  // After a failed listen the same server can still listen elsewhere.
  const { port } = await second.listen('127.0.0.1:0');
  t.is((await get(port, '/healthz')).status, 200);
  await second.close();
});

test('Endpoints on two addresses: /metrics on one, the probes and debug bodies on the other; one address serves all', async (t) => {
  const { log } = capturingLog();
  const common = {
    log,
    registry: createRegistry('speaker'),
    ready: () => ({ ready: true, reasons: [] }),
    debug: { mesh: () => ({ members: [] }) },
  };
  const two = await Endpoints.listen({ ...common, metricsAddr: '127.0.0.1:0', healthAddr: '[::1]:0' });
  t.teardown(() => two.close());
  const [metrics, health] = two.bound;
  t.deepEqual(metrics?.paths, ['/metrics']);
  t.deepEqual(health?.paths, ['/healthz', '/readyz', '/debug/mesh']);
  const status = async (host: string, port: number | undefined, path: string): Promise<number> =>
    (await fetch(`http://${host}:${String(port)}${path}`)).status;
  t.is(await status('127.0.0.1', metrics?.port, '/metrics'), 200);
  for (const path of ['/healthz', '/readyz', '/debug/mesh'])
    t.is(await status('127.0.0.1', metrics?.port, path), 404, `${path} not beside /metrics`);
  for (const path of ['/healthz', '/readyz', '/debug/mesh'])
    t.is(await status('[::1]', health?.port, path), 200);
  t.is(await status('[::1]', health?.port, '/metrics'), 404);
  const one = await Endpoints.listen({ ...common, metricsAddr: '127.0.0.1:0', healthAddr: '127.0.0.1:0' });
  t.teardown(() => one.close());
  t.is(one.bound.length, 1);
  for (const path of ['/metrics', '/healthz', '/readyz', '/debug/mesh'])
    t.is(await status('127.0.0.1', one.bound[0]?.port, path), 200);
  const none = await Endpoints.listen({ ...common, metricsAddr: undefined, healthAddr: undefined });
  t.deepEqual(none.bound, []);
});

test('Endpoints: the second address refused leaves nothing listening', async (t) => {
  const busy = await serve({});
  t.teardown(() => busy.server.close());
  const { log } = capturingLog();
  const free = await serve({});
  const freePort = free.port;
  await free.server.close();
  const err = await t.throwsAsync(
    Endpoints.listen({
      log,
      registry: createRegistry('speaker'),
      ready: () => ({ ready: true, reasons: [] }),
      metricsAddr: `127.0.0.1:${String(freePort)}`,
      healthAddr: `127.0.0.1:${String(busy.port)}`,
    }),
    { name: 'EndpointListenError' },
  );
  t.is((err as EndpointListenError).code, 'EADDRINUSE');
  // The metrics server that did listen was closed again: its port is free.
  const again = new EndpointServer({ log, registry: createRegistry('speaker') });
  await again.listen(`127.0.0.1:${String(freePort)}`);
  await again.close();
  t.pass();
});

test('listen twice throws; close is idempotent and does not wait for idle keep-alive connections', async (t) => {
  const { server, port } = await serve({});
  await t.throwsAsync(server.listen('127.0.0.1:0'), { message: /already listening/ });
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => {
    agent.destroy();
  });
  t.is((await get(port, '/metrics', 'GET', agent)).status, 200);
  const started = Date.now();
  await server.close();
  await server.close();
  t.true(Date.now() - started < 1_000, 'close waited for an idle connection');
  await t.throwsAsync(get(port, '/healthz'), { code: 'ECONNREFUSED' });
});

test('the controller is ready standing by, or leading with its caches synced', (t) => {
  t.deepEqual(controllerReadiness({ leading: false, ready: false }), { ready: true, reasons: [] });
  t.deepEqual(controllerReadiness({ leading: true, ready: true }), { ready: true, reasons: [] });
  const r = controllerReadiness({ leading: true, ready: false });
  t.false(r.ready);
  t.regex(r.reasons.join(), /caches are not synced/);
});
