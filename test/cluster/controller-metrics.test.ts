// `meshlb controller` serves /metrics, /healthz, /readyz and /debug/controller
// (--metrics-addr) against a real API server, with the ServiceAccount and RBAC
// of deploy/rbac/controller.yaml: pool capacity and use, allocations and API
// writes follow what it did, promtool accepts the text, and SIGTERM closes the
// port before the process exits 0.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promtoolCheckMetrics } from '../helpers/promtool.ts';
import anyTest, { type TestFn } from 'ava';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  createIpPool,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';
import { killGroup, spawnGroup, tail, type GroupChild } from '../../lab/testbed/process-group.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const RBAC = fileURLToPath(new URL('../../deploy/rbac/controller.yaml', import.meta.url));
const SA_NAMESPACE = 'meshlb-system';
const SA = 'meshlb-controller';
const TIMINGS = {
  MESHLB_LEASE_DURATION_MS: '2000',
  MESHLB_RENEW_DEADLINE_MS: '1500',
  MESHLB_RETRY_PERIOD_MS: '200',
};

interface Ctx {
  cp: ControlPlane;
  dir: string;
  saKubeconfig: string;
  children: GroupChild[];
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  t.context.children = [];
  t.context.dir = mkdtempSync(join(tmpdir(), 'meshlb-ctlmetrics-'));
  await installCrds(cp);
  const applied = await cp.kubectl(['apply', '--server-side', '-f', RBAC]);
  if (applied.code !== 0) throw new Error(`kubectl apply of ${RBAC} failed: ${applied.stderr}`);
  t.context.saKubeconfig = join(t.context.dir, 'controller.kubeconfig');
  writeFileSync(t.context.saKubeconfig, (await cp.kubeConfigFor(SA_NAMESPACE, SA)).exportConfig());
});

test.after.always(async (t) => {
  const { children = [], cp, dir } = t.context as Partial<Ctx>;
  for (const c of children) {
    if (c.exited() !== undefined) continue;
    c.ref();
    killGroup(c.pid, 'SIGKILL');
    await c.done;
  }
  await cp?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function startController(t: { context: Ctx }, identity: string, metricsAddr: string): GroupChild {
  const { dir, saKubeconfig, children } = t.context;
  const child = spawnGroup(
    [
      process.execPath,
      MAIN,
      'controller',
      '--kubeconfig',
      saKubeconfig,
      '--identity',
      identity,
      '--namespace',
      SA_NAMESPACE,
      '--metrics-addr',
      metricsAddr,
    ],
    join(dir, `${identity}.log`),
    { ...process.env, ...TIMINGS, KUBECONFIG: '', MESHLB_METRICS_ADDR: '' },
  );
  children.push(child);
  return child;
}

function logRecords(child: GroupChild): Record<string, unknown>[] {
  const text = readFileSync(child.log, 'utf8').trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body });
      });
    })
      .on('error', reject)
      .end();
  });
}

/** series (name and labels, as written) → value. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

test.serial(
  'the controller process serves pool metrics that promtool accepts; SIGTERM closes the port',
  async (t) => {
    const { cp } = t.context;
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await cp.newNamespace('ctlmetrics');
    await createIpPool(cp, 'ctlmetrics', {
      addresses: ['192.0.2.0/28', '2001:db8:7::/120'],
      serviceAllocation: { namespaces: [ns] },
    });
    const child = startController(t, 'metrics-a', '127.0.0.1:0');
    t.teardown(() => {
      if (!t.passed) t.log(tail(child.log, 30));
    });
    const listening = await waitFor('the metrics endpoint to listen', () =>
      logRecords(child).find((r) => r.msg === 'metrics endpoint listening'),
    );
    const port = Number(listening.port);
    t.is(listening.address, '127.0.0.1');
    t.true(port > 0);
    t.like(await get(port, '/healthz'), { status: 200, body: 'ok\n' });

    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    });
    const { text, series } = await waitFor(
      'the assignment in the metrics',
      async () => {
        const r = await get(port, '/metrics');
        if (r.status !== 200) return undefined;
        const s = parse(r.body);
        return s.get('meshlb_pool_used_addresses{pool="ctlmetrics",family="ipv4"}') === 1 &&
          (s.get('meshlb_allocations_total') ?? 0) >= 1
          ? { text: r.body, series: s }
          : undefined;
      },
      15_000,
    );
    const lint = promtoolCheckMetrics(text);
    t.is(lint.output, '', 'promtool reports nothing');
    t.is(lint.status, 0);

    t.is(series.get('meshlb_leader'), 1);
    t.is(series.get('meshlb_pool_capacity_addresses{pool="ctlmetrics",family="ipv4"}'), 16);
    t.is(series.get('meshlb_pool_capacity_addresses{pool="ctlmetrics",family="ipv6"}'), 256);
    t.is(
      series.get('meshlb_pool_used_addresses{pool="ctlmetrics",family="ipv6"}'),
      0,
      'a single-stack Service',
    );
    t.true((series.get('meshlb_api_writes_total{resource="services/status",result="ok"}') ?? 0) >= 1);
    t.is(series.get('meshlb_api_writes_total{resource="services/status",result="conflict"}'), 0);
    t.is(series.get('meshlb_allocation_failures_total{reason="PoolExhausted"}'), 0);
    t.is(series.get('meshlb_oscillation_breaks_total'), 0);
    t.regex(text, /^meshlb_build_info\{.*component="controller"\} 1$/m);
    // The pool status (written within a second of the change) shows up as an API write too.
    await waitFor('the pool status write in the metrics', async () => {
      const s = parse((await get(port, '/metrics')).body);
      return (s.get('meshlb_api_writes_total{resource="ippools/status",result="ok"}') ?? 0) >= 1;
    });

    t.like(await get(port, '/readyz'), { status: 200, body: 'ok\n' });
    const debug = await get(port, '/debug/controller');
    t.is(debug.status, 200);
    t.like(JSON.parse(debug.body) as Record<string, unknown>, {
      identity: 'metrics-a',
      leading: true,
      ready: true,
    });

    child.ref();
    killGroup(child.pid, 'SIGTERM');
    await waitFor('the controller to exit', () => child.exited(), 10_000);
    t.is(child.exited(), '0');
    await t.throwsAsync(get(port, '/healthz'), { code: 'ECONNREFUSED' });
    t.deepEqual(
      logRecords(child).filter((r) => (r.level as number) >= 50),
      [],
      'no error logged',
    );
  },
);

test.serial('--metrics-addr off serves nothing; a bad address exits 2 naming the flag', async (t) => {
  const child = startController(t, 'metrics-off', 'off');
  t.teardown(() => {
    if (child.exited() === undefined) killGroup(child.pid, 'SIGKILL');
  });
  const started = await waitFor('the controller to start', () =>
    logRecords(child).find((r) => r.msg === 'controller started'),
  );
  t.is(started.metricsAddr, 'off');
  t.false(logRecords(child).some((r) => r.msg === 'metrics endpoint listening'));
  child.ref();
  killGroup(child.pid, 'SIGTERM');
  await waitFor('the controller to exit', () => child.exited(), 10_000);

  const bad = spawnSync(process.execPath, [MAIN, 'controller', '--metrics-addr', '7473'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '' },
  });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--metrics-addr: "7473" is not a listen address: expected host:port/);
  const env = spawnSync(process.execPath, [MAIN, 'controller'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '', MESHLB_METRICS_ADDR: '[10.0.0.1]:1' },
  });
  t.is(env.status, 2);
  t.regex(env.stderr, /MESHLB_METRICS_ADDR: "\[10\.0\.0\.1\]:1" is not a listen address/);
});
