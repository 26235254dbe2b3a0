// meshlb's own Kubernetes client: kubeconfig parsing (and its errors), the
// watch stream decoder (fuzzed: it reads the network), and requests and
// watches against a small local HTTP server standing in for the API server's
// wire behaviour (status codes, slow answers, streamed events). The real API
// server exercises the rest in test/cluster.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  inClusterTarget,
  KubeApiError,
  KubeClient,
  KubeConfigError,
  KubeRequestTimeoutError,
  microTime,
  objectPath,
  parseKubeconfig,
  WatchDecodeError,
  WatchLines,
  type WatchEvent,
} from '../../src/kube/client/index.ts';

const kubeconfig = (user: string, extra = ''): string => `
apiVersion: v1
kind: Config
current-context: a
contexts:
- name: a
  context: {cluster: c, user: u}
- name: b
  context: {cluster: c2, user: u}
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: ${Buffer.from('CA').toString('base64')}
- name: c2
  cluster: {server: http://10.0.0.1:8080, insecure-skip-tls-verify: true}
users:
- name: u
  user: ${user}
${extra}`;

test('a kubeconfig: the current context, or the one chosen; data fields decoded; files relative to it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-kc-'));
  writeFileSync(join(dir, 'cert.pem'), 'CERT');
  writeFileSync(join(dir, 'key.pem'), 'KEY');
  const file = join(dir, 'config');
  const a = parseKubeconfig(kubeconfig('{client-certificate: cert.pem, client-key: key.pem}'), file);
  t.is(a.server, 'https://127.0.0.1:6443');
  t.is(a.ca?.toString(), 'CA');
  t.is(a.cert?.toString(), 'CERT');
  t.is(a.key?.toString(), 'KEY');
  const b = parseKubeconfig(kubeconfig('{token: abc}'), file, 'b');
  t.deepEqual(b, { server: 'http://10.0.0.1:8080', insecureSkipTlsVerify: true, token: 'abc' });
  t.is(parseKubeconfig(kubeconfig('{tokenFile: tok}'), file).tokenFile, join(dir, 'tok'));
});

test('a kubeconfig meshlb cannot use is a KubeConfigError naming the file and what is wrong', (t) => {
  const bad: [string, RegExp][] = [
    [kubeconfig('{exec: {command: aws}}'), /authenticates with exec, which meshlb does not support/],
    [kubeconfig('{username: x, password: y}'), /authenticates with username/],
    [kubeconfig('{client-certificate-data: Q0VSVA==}'), /certificate without its key/],
    [
      kubeconfig('{client-certificate: /nonexistent/c.pem, client-key: /nonexistent/k.pem}'),
      /cannot read the client certificate.*ENOENT/,
    ],
    [kubeconfig('{}').replace('current-context: a', 'current-context: z'), /context "z" is not defined/],
    [
      kubeconfig('{}').replace('cluster: c, user', 'cluster: nope, user'),
      /names cluster "nope", which is not defined/,
    ],
    [kubeconfig('{}').replace('https://127.0.0.1:6443/', 'ftp://x'), /has no http\(s\) server/],
    ['a: [b', /not YAML/],
    ['- 1', /not a kubeconfig/],
    ['{}', /no current-context/],
  ];
  for (const [text, message] of bad) {
    const err = t.throws(() => parseKubeconfig(text, '/etc/kc'), { instanceOf: KubeConfigError });
    t.regex(err.message, message);
    t.true(err.message.startsWith('/etc/kc'), err.message);
  }
});

test('in-cluster: the service host and port, the ServiceAccount CA and token file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-sa-'));
  writeFileSync(join(dir, 'ca.crt'), 'CA');
  const target = inClusterTarget({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
  t.is(target.server, 'https://[fd00::1]:443');
  t.is(target.tokenFile, join(dir, 'token'));
  t.throws(() => inClusterTarget({}, dir), { instanceOf: KubeConfigError });
  t.throws(() => inClusterTarget({ KUBERNETES_SERVICE_HOST: 'h' }, '/nonexistent'), {
    instanceOf: KubeConfigError,
    message: /ServiceAccount CA/,
  });
});

test('paths and MicroTime as the API server expects them', (t) => {
  t.is(objectPath('', 'v1', 'services', 'ns', 'a'), '/api/v1/namespaces/ns/services/a');
  t.is(objectPath('meshlb.io', 'v1alpha1', 'ippools'), '/apis/meshlb.io/v1alpha1/ippools');
  t.is(microTime(Date.UTC(2026, 11, 6, 1, 2, 3, 45)), '2026-12-06T01:02:03.045000Z');
});

const event = fc.record({
  type: fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'),
  object: fc.dictionary(fc.string(), fc.jsonValue()),
}) as fc.Arbitrary<WatchEvent>;

test('watch lines: events split anywhere across chunks come out whole and in order', (t) => {
  fc.assert(
    fc.property(fc.array(event, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (events, cuts) => {
      const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
      const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
      const lines = new WatchLines();
      const out: WatchEvent[] = [];
      let from = 0;
      const deliver = (e: WatchEvent): void => {
        out.push(e);
      };
      for (const c of [...at, text.length]) {
        lines.push(text.slice(from, c), deliver);
        from = c;
      }
      lines.end(deliver);
      t.deepEqual(out, JSON.parse(JSON.stringify(events)) as WatchEvent[]);
    }),
  );
});

test('watch lines: garbage gives events or a WatchDecodeError, never anything else', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string(), fc.json(), fc.constant('\n')), { maxLength: 10 }),
      (chunks) => {
        const lines = new WatchLines();
        try {
          for (const c of chunks) lines.push(c, () => undefined);
          lines.end(() => undefined);
        } catch (err) {
          if (!(err instanceof WatchDecodeError)) throw err;
        }
      },
    ),
  );
  t.throws(
    () => {
      new WatchLines().push('{"type":"ADDED"}\n', () => undefined);
    },
    {
      instanceOf: WatchDecodeError,
      message: /no object/,
    },
  );
  t.throws(
    () => {
      new WatchLines().push('{"type":"NOPE","object":{}}\n', () => undefined);
    },
    {
      instanceOf: WatchDecodeError,
    },
  );
});

async function server(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<[KubeClient, () => Promise<void>]> {
  const s = createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const client = new KubeClient({
    server: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    token: 't0k',
  });
  return [
    client,
    () => {
      client.close();
      s.closeAllConnections();
      return new Promise<void>((resolve) =>
        s.close(() => {
          resolve();
        }),
      );
    },
  ];
}

test('requests: JSON in and out, the token, a Status error as KubeApiError with its code and reason, 404 as undefined from find', async (t) => {
  const seen: string[] = [];
  const [client, close] = await server((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(
        `${req.method} ${req.url} ${req.headers.authorization} ${req.headers['content-type'] ?? '-'} ${body}`,
      );
      if (req.url?.startsWith('/api/v1/namespaces/a/services/gone')) {
        res.writeHead(404).end(
          JSON.stringify({
            kind: 'Status',
            code: 404,
            reason: 'NotFound',
            message: 'services "gone" not found',
          }),
        );
        return;
      }
      if (req.method === 'PUT') {
        res.writeHead(409).end(
          JSON.stringify({
            kind: 'Status',
            code: 409,
            reason: 'Conflict',
            message: 'the object has been modified',
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: req.method }));
    });
  });
  try {
    t.deepEqual(await client.get('/version'), { ok: 'GET' });
    t.deepEqual(
      await client.patch(
        '/api/v1/namespaces/a/pods/p',
        { metadata: {} },
        { query: { fieldManager: 'm', force: true } },
      ),
      { ok: 'PATCH' },
    );
    t.is(await client.find('/api/v1/namespaces/a/services/gone'), undefined);
    const err = await t.throwsAsync(client.replace('/x', {}), { instanceOf: KubeApiError });
    t.is(err.code, 409);
    t.is(err.reason, 'Conflict');
    t.regex(err.message, /PUT \/x: 409 the object has been modified/);
    t.deepEqual(seen.slice(0, 2), [
      'GET /version Bearer t0k - ',
      'PATCH /api/v1/namespaces/a/pods/p?fieldManager=m&force=true Bearer t0k application/merge-patch+json {"metadata":{}}',
    ]);
  } finally {
    await close();
  }
});

test('a request without an answer fails with KubeRequestTimeoutError after its bound, or at once when its owner aborts', async (t) => {
  const [client, close] = await server(() => undefined);
  try {
    const t0 = Date.now();
    await t.throwsAsync(client.get('/version', { timeoutMs: 150 }), { instanceOf: KubeRequestTimeoutError });
    t.true(Date.now() - t0 < 2_000);
    const owner = new AbortController();
    const pendingRequest = client.get('/version', { signal: owner.signal });
    owner.abort(new Error('speaker stopped'));
    await t.throwsAsync(pendingRequest, { message: 'speaker stopped' });
    await t.throwsAsync(client.get('/version', { signal: owner.signal }), { message: 'speaker stopped' });
  } finally {
    await close();
  }
});

test('a watch: events as they stream, the end of the stream, an error status, a bad line', async (t) => {
  const [client, close] = await server((req, res) => {
    const url = new URL(req.url ?? '', 'http://x');
    t.is(url.searchParams.get('watch'), 'true');
    if (url.pathname === '/forbidden') {
      res.writeHead(403).end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'no' }));
      return;
    }
    res.writeHead(200);
    if (url.pathname === '/garbage') {
      res.end('{"type":"ADDED","object":{}}\nnot json\n');
      return;
    }
    res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODI');
    setTimeout(() => res.end('FIED","object":{"metadata":{"name":"a"}}}\n'), 20);
  });
  try {
    const got: string[] = [];
    await client.watch('/x', { timeoutSeconds: 5, resourceVersion: '7' }, (e) => got.push(e.type)).done;
    t.deepEqual(got, ['ADDED', 'MODIFIED']);
    const forbidden = await t.throwsAsync(
      client.watch('/forbidden', { timeoutSeconds: 5 }, () => undefined).done,
      {
        instanceOf: KubeApiError,
      },
    );
    t.is(forbidden.code, 403);
    const bad: string[] = [];
    await t.throwsAsync(client.watch('/garbage', { timeoutSeconds: 5 }, (e) => bad.push(e.type)).done, {
      instanceOf: WatchDecodeError,
    });
    t.deepEqual(bad, ['ADDED'], 'the good line before the bad one was delivered');
  } finally {
    await close();
  }
});
