// deploy/helm/meshlb as an operator installs it, against a real API server:
// helm lint; values.schema.json refuses bad values; the chart renders the same
// objects as the kustomize base (and the monitoring overlay) with the same
// toggles; its CRDs and monitoring files are deploy/'s (links, dereferenced by
// helm package); `helm template` applies server-side with no warning; helm
// install, upgrade (the generated mesh key survives it) and uninstall.
// Tests run in order on one control plane (helm install last: the CRDs it
// leaves are helm's, and kubectl's apply of them would conflict).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { dump, load } from 'js-yaml';
import { configProblems } from '../../src/config/index.ts';
import { parseDocuments } from '../../src/migrate/yaml.ts';
import {
  helmBinary,
  installMonitoringStandInCrds,
  kubectlWithInput,
  startControlPlane,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';
import { run, type ExecResult } from '../../lab/testbed/exec.ts';

const path = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const CHART = path('deploy/helm/meshlb');
const NS = 'meshlb-system';
/** Labels the chart adds to what the kustomize base has. */
const HELM_LABELS = [
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
  'helm.sh/chart',
];
/** helm logs each link it follows (crds/, monitoring/): expected, and nothing else on stderr. */
const LINK_NOTE = /^walk\.go:\d+: found symbolic link in path: .* resolves to .*$/;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown> & {
    template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  };
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
  resources?: unknown;
  ports?: { name: string; containerPort: number; hostPort?: number }[];
  readinessProbe?: { httpGet: { host?: string; port: number | string } };
}
interface PodSpec {
  containers: Container[];
  tolerations?: unknown[];
  nodeSelector?: Record<string, string>;
  imagePullSecrets?: unknown[];
  volumes: { name: string; secret?: { secretName: string } }[];
}

interface Ctx {
  cp: ControlPlane;
  helm: string;
  home: string;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  t.context.helm = await helmBinary();
  t.context.home = mkdtempSync(join(tmpdir(), 'meshlb-helm-'));
  t.context.cp = await startControlPlane();
});
test.after.always(async (t) => {
  const { cp, home } = t.context as Partial<Ctx>;
  await cp?.stop();
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
});

/** Runs helm with its own config/cache/data dirs and the control plane's admin kubeconfig. */
function helm(t: { context: Ctx }, args: readonly string[]): Promise<ExecResult> {
  const { cp, helm: bin, home } = t.context;
  return run([bin, ...args], {
    timeoutMs: 120_000,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: cp.kubeconfigPath,
    },
  });
}

/** stderr without helm's notes about the chart's links. */
const unexpected = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => l.trim() !== '' && !LINK_NOTE.test(l));

async function render(t: { context: Ctx }, ...args: string[]): Promise<{ yaml: string; objects: Obj[] }> {
  const r = await helm(t, ['template', 'meshlb', CHART, '--namespace', NS, ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  if (unexpected(r.stderr).length > 0) throw new Error(`helm template said: ${r.stderr}`);
  return { yaml: r.stdout, objects: parse(r.stdout) };
}

function parse(yaml: string): Obj[] {
  const { docs, findings } = parseDocuments(yaml);
  if (findings.length > 0) throw new Error(findings.map((f) => f.message).join('\n'));
  return docs.filter((d): d is Obj => d !== null);
}

async function kustomize(cp: ControlPlane, overlay: string): Promise<Obj[]> {
  const r = await cp.kubectl(['kustomize', path(`deploy/kustomize/overlays/${overlay}`)]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${overlay}: ${r.stderr}`);
  return parse(r.stdout);
}

const key = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const find = (objects: Obj[], kind: string, name: string): Obj | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
function podSpec(objects: Obj[], kind: 'DaemonSet' | 'Deployment'): PodSpec {
  const o = find(objects, kind, kind === 'DaemonSet' ? 'meshlb-speaker' : 'meshlb-controller');
  const spec = (o?.spec?.template as { spec?: PodSpec } | undefined)?.spec;
  if (spec === undefined) throw new Error(`no ${kind} in the render`);
  return spec;
}
const env = (c: Container | undefined, name: string): string | undefined =>
  c?.env?.find((e) => e.name === name)?.value;

/** An object as both installs must make it: without the labels only helm adds. */
function comparable(o: Obj): unknown {
  const c = structuredClone(o);
  delete c.metadata.labels;
  const tpl = c.spec?.template?.metadata;
  if (tpl?.labels !== undefined)
    tpl.labels = Object.fromEntries(Object.entries(tpl.labels).filter(([l]) => !HELM_LABELS.includes(l)));
  if (c.kind === 'ConfigMap' && c.data?.['meshlb.json'] !== undefined)
    c.data['meshlb.json'] = JSON.parse(c.data['meshlb.json']) as string;
  return c;
}

async function applyServerSide(cp: ControlPlane, yaml: string): Promise<ExecResult> {
  return kubectlWithInput(cp, ['apply', '--server-side', '--validate=strict', '-f', '-'], yaml);
}

async function createNamespace(cp: ControlPlane): Promise<void> {
  // As docs/install.md says: the namespace first, labelled for the speaker.
  const ns = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: NS,
      labels: Object.fromEntries(
        ['enforce', 'audit', 'warn'].map((m) => [`pod-security.kubernetes.io/${m}`, 'privileged']),
      ),
    },
  });
  const r = await applyServerSide(cp, ns);
  if (r.code !== 0) throw new Error(`creating ${NS}: ${r.stderr}`);
}

test.serial('helm lint passes, monitoring off and on', async (t) => {
  for (const args of [[], ['--set', 'monitoring.enabled=true']]) {
    const r = await helm(t, ['lint', '--strict', CHART, ...args]);
    t.is(r.code, 0, r.stdout + r.stderr);
    t.regex(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    t.notRegex(r.stdout, /\[(WARNING|ERROR)\]/);
    t.deepEqual(unexpected(r.stderr), []);
  }
});

test.serial('values.schema.json refuses bad values and takes good ones', async (t) => {
  const refused: [string, RegExp][] = [
    ['logLevel=loud', /at '\/logLevel': value must be one of/],
    ['speaker.logLevel=chatty', /\/speaker\/logLevel/],
    ['controller.replicas=0', /at '\/controller\/replicas': minimum/],
    ['image.pullPolicy=Sometimes', /\/image\/pullPolicy/],
    ['image.digest=latest', /\/image\/digest/],
    ['monitoring.enabled=yes', /\/monitoring\/enabled/],
    ['speaker.nodeselector.a=b', /additional properties 'nodeselector' not allowed/],
    ['meshKey.existingSecret=Not_A_Name', /\/meshKey\/existingSecret/],
  ];
  for (const [value, message] of refused) {
    const r = await helm(t, ['template', 'meshlb', CHART, '--namespace', NS, '--set', value]);
    t.not(r.code, 0, value);
    t.regex(r.stderr, /values don't meet the specifications of the schema/, value);
    t.regex(r.stderr, message, value);
  }
  const r = await helm(t, ['lint', CHART, '--set', 'logLevel=loud']);
  t.not(r.code, 0, 'helm lint checks the schema too');
  for (const value of [
    'logLevel=debug',
    'speaker.logLevel=warn',
    'controller.replicas=3',
    'monitoring.enabled=true',
  ]) {
    const ok = await helm(t, ['template', 'meshlb', CHART, '--namespace', NS, '--set', value]);
    t.is(ok.code, 0, `${value}: ${ok.stderr}`);
  }
});

test.serial(
  'a wrong config key or type fails helm in the words the speaker and controller use',
  async (t) => {
    const bad: unknown[] = [
      { speaker: { colour: 'blue' } },
      { speaker: { mesh: { probeIntervl: 100, probeTimeoutMs: '80' }, meshPort: 70_000 } },
      { speaker: { interfaces: 'eth0', logLevel: 'loud' } },
      { controller: { leaseDuration: 1 } },
    ];
    for (const config of bad) {
      const r = await helm(t, [
        'template',
        'meshlb',
        CHART,
        '--namespace',
        NS,
        '--set-json',
        `config=${JSON.stringify(config)}`,
      ]);
      t.not(r.code, 0, JSON.stringify(config));
      const problems = configProblems(config);
      t.true(problems.length > 0);
      // The process's line, placed under the chart's `config` value, is Helm's line.
      for (const line of problems)
        t.true(r.stderr.includes(line.replace("at '", "at '/config")), `${line}\nhelm: ${r.stderr}`);
    }
    const good = {
      speaker: {
        interfaces: ['eth0'],
        mesh: { probeIntervalMs: 100 },
        watch: { intervalMs: 20 },
        meshPort: 7947,
      },
      controller: { leaseDurationMs: 15_000 },
    };
    t.deepEqual(configProblems(good), []);
    const { objects } = await render(t, '--set-json', `config=${JSON.stringify(good)}`);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'meshlb-config') as
      (Obj & { data: Record<string, string> }) | undefined;
    t.deepEqual(load(cm?.data['config.yaml'] ?? ''), good, 'the ConfigMap holds the config as given');
    // Both workloads mount it and roll when it changes.
    for (const kind of ['DaemonSet', 'Deployment']) {
      const w = objects.find((o) => o.kind === kind) as Obj & {
        spec: { template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } };
      };
      t.truthy(w.spec.template.metadata.annotations?.['checksum/config'], kind);
      const env = w.spec.template.spec.containers[0]?.env ?? [];
      t.true(
        env.some((e) => e.name === 'MESHLB_CONFIG'),
        kind,
      );
    }
  },
);

test.serial(
  "monitoring.runbookBaseUrl: every alert's runbook_url points there, at its section",
  async (t) => {
    const rules = async (...args: string[]) => {
      const { objects } = await render(t, '--set', 'monitoring.enabled=true', ...args);
      const rule = objects.find((o) => o.kind === 'PrometheusRule') as
        | (Obj & {
            spec: { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
          })
        | undefined;
      return (rule?.spec.groups ?? []).flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    };
    const plain = await rules();
    t.true(plain.length > 0);
    t.true(plain.every((r) => r.annotations?.runbook_url?.startsWith('docs/troubleshooting.md#')));
    const base = 'https://git.example.org/ops/meshlb/blob/v0.1.0/docs/troubleshooting.md';
    const set = await rules('--set', `monitoring.runbookBaseUrl=${base}`);
    t.deepEqual(
      set.map((r) => r.annotations?.runbook_url),
      plain.map((r) => r.annotations?.runbook_url?.replace('docs/troubleshooting.md', base)),
    );
  },
);

test.serial(
  "the chart's CRDs and monitoring files are deploy/'s, and helm package carries them",
  async (t) => {
    const { objects } = await render(t, '--include-crds');
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const files = readdirSync(path('deploy/crds')).filter((f) => f.endsWith('.yaml'));
    t.is(crds.length, files.length);
    for (const f of files) {
      const want = parse(readFileSync(path(`deploy/crds/${f}`), 'utf8'))[0];
      t.deepEqual(
        crds.find((c) => c.metadata.name === want?.metadata.name),
        want,
        f,
      );
    }

    const out = mkdtempSync(join(tmpdir(), 'meshlb-helm-package-'));
    t.teardown(() => {
      rmSync(out, { recursive: true, force: true });
    });
    const packaged = await helm(t, ['package', CHART, '--destination', out]);
    t.is(packaged.code, 0, packaged.stderr);
    const listing = await run(['tar', '-tzf', join(out, 'meshlb-0.1.0.tgz')]);
    const entries = listing.stdout.trim().split('\n').sort();
    for (const f of files) t.true(entries.includes(`meshlb/crds/${f}`), f);
    t.true(entries.includes('meshlb/monitoring/dashboard.json'));
    t.true(entries.includes('meshlb/monitoring/prometheusrule.yaml'));
    t.deepEqual(
      entries.filter((e) => /Kustomization|kustomization\.yaml|servicemonitor\.yaml/.test(e)),
      [],
      "kustomize's files stay out of the chart",
    );
  },
);

test.serial('the chart renders the objects of the kustomize overlays', async (t) => {
  const { cp } = t.context;
  for (const [overlay, args] of [
    ['default', []],
    ['monitoring', ['--set', 'monitoring.enabled=true']],
  ] as const) {
    const fromKustomize = await kustomize(cp, overlay);
    const { objects: fromHelm } = await render(t, '--include-crds', ...args);
    // Only kustomize makes the Namespace (helm installs into one); only helm makes the mesh key.
    t.deepEqual(
      fromKustomize
        .map(key)
        .filter((k) => !k.startsWith('Namespace/'))
        .sort(),
      fromHelm
        .map(key)
        .filter((k) => k !== `Secret/${NS}/meshlb-mesh-key`)
        .sort(),
      overlay,
    );
    for (const k of fromKustomize) {
      if (k.kind === 'Namespace') continue;
      const h = fromHelm.find((o) => key(o) === key(k));
      t.deepEqual(h === undefined ? undefined : comparable(h), comparable(k), `${overlay}: ${key(k)}`);
    }
  }
});

test.serial(
  'the generated mesh key: 32 random bytes in hex, new on each render; none with meshKey.existingSecret',
  async (t) => {
    const keys = [];
    for (let i = 0; i < 2; i++) {
      const { objects } = await render(t);
      const secret = find(objects, 'Secret', 'meshlb-mesh-key');
      keys.push(Buffer.from(secret?.data?.key ?? '', 'base64').toString());
    }
    for (const k of keys) t.regex(k, /^[0-9a-f]{64}$/);
    t.not(keys[0], keys[1]);

    const { objects } = await render(t, '--set', 'meshKey.existingSecret=my-key');
    t.is(find(objects, 'Secret', 'meshlb-mesh-key'), undefined);
    const volume = podSpec(objects, 'DaemonSet').volumes.find((v) => v.name === 'mesh-key');
    t.is(volume?.secret?.secretName, 'my-key');
  },
);

test.serial('toggles: image, log levels, resources, placement, config, replicas, monitoring', async (t) => {
  const base = await render(t);
  const speaker = (objects: Obj[]) => podSpec(objects, 'DaemonSet');
  const controller = (objects: Obj[]) => podSpec(objects, 'Deployment');
  t.is(speaker(base.objects).containers[0]?.image, 'meshlb:0.1.0');
  t.is(find(base.objects, 'ConfigMap', 'meshlb-config'), undefined);
  t.truthy(find(base.objects, 'PodDisruptionBudget', 'meshlb-controller'));
  t.is(find(base.objects, 'PrometheusRule', 'meshlb'), undefined);

  // Every port of the speaker from values: the variables, the ports, the probes and the Service move together.
  const moved = await render(
    t,
    '--set',
    'speaker.ports.mesh=8946,speaker.ports.pulse=8947,speaker.ports.metrics=8472,speaker.ports.health=8474',
    '--set-string',
    'speaker.healthHost=',
  );
  const sc = speaker(moved.objects).containers[0];
  t.is(env(sc, 'MESHLB_MESH_PORT'), '8946');
  t.is(env(sc, 'MESHLB_PULSE_PORT'), '8947');
  t.is(env(sc, 'MESHLB_METRICS_ADDR'), ':8472');
  t.is(env(sc, 'MESHLB_HEALTH_ADDR'), ':8474');
  t.deepEqual(
    sc?.ports?.map((p) => [p.name, p.containerPort, p.hostPort]),
    [
      ['mesh', 8946, 8946],
      ['mesh-udp', 8946, 8946],
      ['pulse', 8947, 8947],
      ['http', 8472, 8472],
    ],
  );
  t.deepEqual(sc?.readinessProbe?.httpGet, { host: '127.0.0.1', path: '/readyz', port: 8474 });
  const svc = find(moved.objects, 'Service', 'meshlb-speaker') as
    { spec?: { ports?: { port: number }[] } } | undefined;
  t.is(svc?.spec?.ports?.[0]?.port, 8472);

  const img = await render(
    t,
    '--set',
    'image.repository=registry.example/meshlb',
    '--set',
    'image.tag=1.2.3',
  );
  t.is(controller(img.objects).containers[0]?.image, 'registry.example/meshlb:1.2.3');
  const digest = `sha256:${'a'.repeat(64)}`;
  const pinned = await render(t, '--set', 'image.repository=r/meshlb', '--set', `image.digest=${digest}`);
  t.is(speaker(pinned.objects).containers[0]?.image, `r/meshlb@${digest}`);

  const logs = await render(t, '--set', 'logLevel=warn', '--set', 'speaker.logLevel=trace');
  t.is(env(speaker(logs.objects).containers[0], 'MESHLB_LOG_LEVEL'), 'trace');
  t.is(env(controller(logs.objects).containers[0], 'MESHLB_LOG_LEVEL'), 'warn');

  const placed = await render(
    t,
    '--set',
    'speaker.resources.limits.memory=1Gi',
    '--set',
    'speaker.nodeSelector.meshlb=yes',
    '--set',
    'speaker.tolerations[0].operator=Exists',
    '--set',
    'controller.nodeSelector.role=infra',
    '--set',
    'imagePullSecrets[0].name=pull',
  );
  t.deepEqual(speaker(placed.objects).containers[0]?.resources, {
    limits: { memory: '1Gi' },
    requests: { cpu: '100m', memory: '128Mi' },
  });
  t.deepEqual(speaker(placed.objects).nodeSelector, { 'kubernetes.io/os': 'linux', meshlb: 'yes' });
  t.deepEqual(speaker(placed.objects).tolerations, [{ operator: 'Exists' }]);
  t.deepEqual(controller(placed.objects).nodeSelector, { 'kubernetes.io/os': 'linux', role: 'infra' });
  t.deepEqual(speaker(placed.objects).imagePullSecrets, [{ name: 'pull' }]);

  const checksum = (objects: Obj[]) =>
    find(objects, 'DaemonSet', 'meshlb-speaker')?.spec?.template?.metadata?.annotations?.['checksum/config'];
  const wan = await render(t, '--set', 'config.speaker.meshProfile=wan');
  const cm = find(wan.objects, 'ConfigMap', 'meshlb-config');
  t.deepEqual(parse(cm?.data?.['config.yaml'] ?? ''), [
    { speaker: { meshProfile: 'wan' } },
  ] as unknown as Obj[]);
  const lan = await render(t, '--set', 'config.speaker.meshProfile=lan-conservative');
  t.regex(checksum(wan.objects) ?? '', /^[0-9a-f]{64}$/);
  t.not(checksum(wan.objects), checksum(lan.objects), 'a config change rolls the speakers');
  t.is(checksum(base.objects), undefined);

  const one = await render(t, '--set', 'controller.replicas=1');
  t.is(
    find(one.objects, 'PodDisruptionBudget', 'meshlb-controller'),
    undefined,
    'no PDB that would block drains',
  );

  const mon = await render(
    t,
    '--set',
    'monitoring.enabled=true',
    '--set',
    'monitoring.serviceMonitor.labels.release=kps',
    '--set',
    'monitoring.dashboard.namespace=grafana',
  );
  t.is(find(mon.objects, 'ServiceMonitor', 'meshlb')?.metadata.labels?.release, 'kps');
  t.is(find(mon.objects, 'ConfigMap', 'meshlb-grafana-dashboard')?.metadata.namespace, 'grafana');
  t.is(find(mon.objects, 'ConfigMap', 'meshlb-grafana-dashboard')?.metadata.labels?.grafana_dashboard, '1');
});

test.serial('helm template applies server-side with no warning: defaults, then monitoring on', async (t) => {
  const { cp } = t.context;
  await createNamespace(cp);
  const { yaml, objects } = await render(t, '--include-crds');
  const r = await applyServerSide(cp, yaml);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr.trim(), '');
  for (const o of objects) {
    const got = await cp.kubectl([
      'get',
      o.kind,
      o.metadata.name,
      ...(o.metadata.namespace === undefined ? [] : ['-n', o.metadata.namespace]),
    ]);
    t.is(got.code, 0, key(o));
  }

  const without = await render(t, '--set', 'monitoring.enabled=true');
  t.not((await applyServerSide(cp, without.yaml)).code, 0, 'not without the Prometheus Operator CRDs');
  // Stand-ins (lab/testbed/controlplane/deploy.ts says why they are not the real CRDs).
  await installMonitoringStandInCrds(cp);
  const mon = await render(t, '--set', 'monitoring.enabled=true');
  const applied = await applyServerSide(cp, mon.yaml);
  t.is(applied.code, 0, applied.stderr);
  t.is(applied.stderr.trim(), '');
  for (const [kind, name] of [
    ['servicemonitor', 'meshlb'],
    ['prometheusrule', 'meshlb'],
    ['configmap', 'meshlb-grafana-dashboard'],
  ] as const)
    t.is((await cp.kubectl(['get', kind, name, '-n', NS])).code, 0, `${kind}/${name}`);

  // Gone again, for helm install (it adopts nothing it did not create).
  const all = await render(t, '--include-crds', '--set', 'monitoring.enabled=true');
  // --wait: CRDs go only once the API server has dropped their storage, which
  // took over 30 s on a loaded CI machine (2 cores, four API servers).
  const deleted = await kubectlWithInput(cp, ['delete', '--wait=true', '-f', '-'], all.yaml, 120_000);
  t.is(deleted.code, 0, deleted.stderr);
});

test.serial('helm install, upgrade (the mesh key stays), uninstall', async (t) => {
  const { cp } = t.context;
  await createNamespace(cp);
  const install = await helm(t, ['install', 'meshlb', CHART, '--namespace', NS]);
  t.is(install.code, 0, install.stderr);
  t.deepEqual(unexpected(install.stderr), []);
  const meshKey = async (): Promise<string> => {
    const r = await cp.kubectl(['get', 'secret', 'meshlb-mesh-key', '-n', NS, '-o', 'jsonpath={.data.key}']);
    return Buffer.from(r.stdout, 'base64').toString();
  };
  const first = await meshKey();
  t.regex(first, /^[0-9a-f]{64}$/);
  for (const o of ['daemonset/meshlb-speaker', 'deployment/meshlb-controller', 'crd/ippools.meshlb.io'])
    t.is((await cp.kubectl(['get', o, '-n', NS])).code, 0, o);

  const upgrade = await helm(t, ['upgrade', 'meshlb', CHART, '--namespace', NS, '--set', 'logLevel=debug']);
  t.is(upgrade.code, 0, upgrade.stderr);
  t.is(await meshKey(), first, 'lookup kept the installed key');
  const level = await cp.kubectl([
    'get',
    'daemonset/meshlb-speaker',
    '-n',
    NS,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="MESHLB_LOG_LEVEL")].value}',
  ]);
  t.is(level.stdout, 'debug');

  const uninstall = await helm(t, ['uninstall', 'meshlb', '--namespace', NS, '--wait']);
  t.is(uninstall.code, 0, uninstall.stderr);
  t.not((await cp.kubectl(['get', 'daemonset/meshlb-speaker', '-n', NS])).code, 0);
  t.not((await cp.kubectl(['get', 'clusterrole/meshlb-speaker'])).code, 0);
  t.is((await cp.kubectl(['get', 'crd/ippools.meshlb.io'])).code, 0, 'helm never deletes CRDs');
});

test.serial(
  'CRD upgrade: helm upgrade alone keeps the old CRDs; the server-side apply step of docs/install.md brings the new schema, and existing objects keep working',
  async (t) => {
    const { cp } = t.context;
    await createNamespace(cp).catch(() => undefined);
    // Chart A is today's; chart B the same with a field added to IPPool's schema and its version bumped.
    const dir = mkdtempSync(join(tmpdir(), 'meshlb-crd-upgrade-'));
    t.teardown(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const to of [a, b]) {
      const copied = await run(['cp', '-rL', CHART, to]);
      t.is(copied.code, 0, copied.stderr);
    }
    const crdFile = join(b, 'crds', 'ippools.meshlb.io.yaml');
    const crd = load(readFileSync(crdFile, 'utf8')) as {
      spec: {
        versions: {
          schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } };
        }[];
      };
    };
    for (const v of crd.spec.versions)
      v.schema.openAPIV3Schema.properties.spec.properties.description = { type: 'string', maxLength: 200 };
    writeFileSync(crdFile, dump(crd));
    const chartFile = join(b, 'Chart.yaml');
    writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace(/^version: .*$/m, 'version: 99.0.0'));

    const pool = (name: string, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        apiVersion: 'meshlb.io/v1alpha1',
        kind: 'IPPool',
        metadata: { name },
        spec: { addresses: ['203.0.113.0/29'], ...extra },
      });
    const install = await helm(t, ['install', 'meshlb', a, '--namespace', NS]);
    t.is(install.code, 0, install.stderr);
    t.is((await applyServerSide(cp, pool('before-upgrade'))).code, 0);

    // The trap: helm upgrade never touches crds/, so the new field is still unknown.
    const upgrade = await helm(t, ['upgrade', 'meshlb', b, '--namespace', NS]);
    t.is(upgrade.code, 0, upgrade.stderr);
    const refused = await applyServerSide(cp, pool('after-upgrade', { description: 'rack 4' }));
    t.not(refused.code, 0, 'the old schema refuses the new field');
    t.regex(refused.stderr, /\.spec\.description: field not declared in schema/);

    // The documented step: the chart's CRDs applied server-side, then the upgrade.
    const crds = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(b, 'crds')]);
    t.is(crds.code, 0, crds.stderr);
    const again = await helm(t, ['upgrade', 'meshlb', b, '--namespace', NS]);
    t.is(again.code, 0, again.stderr);
    const accepted = await applyServerSide(cp, pool('after-upgrade', { description: 'rack 4' }));
    t.is(accepted.code, 0, accepted.stderr);
    const field = await cp.kubectl(['get', 'ippool', 'after-upgrade', '-o', 'jsonpath={.spec.description}']);
    t.is(field.stdout, 'rack 4', 'kept, not pruned');
    const old = await cp.kubectl(['get', 'ippool', 'before-upgrade', '-o', 'jsonpath={.spec.addresses[0]}']);
    t.is(old.stdout, '203.0.113.0/29', 'the object from before the upgrade is untouched');

    for (const name of ['before-upgrade', 'after-upgrade']) await cp.kubectl(['delete', 'ippool', name]);
    const uninstall = await helm(t, ['uninstall', 'meshlb', '--namespace', NS, '--wait']);
    t.is(uninstall.code, 0, uninstall.stderr);
    // Back to today's CRDs for whatever runs next.
    t.is((await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(a, 'crds')])).code, 0);
  },
);
