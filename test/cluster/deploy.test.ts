// deploy/ as an operator installs it with kustomize, against a real API server:
// every overlay applies server-side with no error and no warning and creates
// exactly the objects listed here; the Pods the DaemonSet and the Deployment
// would create pass Pod Security admission where they should (and the speaker's
// fails where it should); the speaker's ServiceAccount may do exactly what the
// speaker does (kubectl auth can-i, answered by the server's RBAC). Tests run in
// order on one control plane: each overlay is applied over the previous one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { parseDocuments } from '../../src/migrate/yaml.ts';
import {
  DEFAULT_HEALTH_ADDR,
  DEFAULT_MESH_PORT,
  DEFAULT_METRICS_ADDR,
  DEFAULT_PULSE_PORT,
} from '../../src/speaker/index.ts';
import {
  canI,
  describeAccess,
  installMonitoringStandInCrds,
  kubectlWithInput,
  startControlPlane,
  type AccessRequest,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';

const path = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const OVERLAY = (name: string): string => path(`deploy/kustomize/overlays/${name}`);
const NS = 'meshlb-system';
const SPEAKER = `system:serviceaccount:${NS}:meshlb-speaker`;
const CONTROLLER = `system:serviceaccount:${NS}:meshlb-controller`;

/** What the default overlay creates, as `kubectl get -o name` prints it. */
const DEFAULT_OBJECTS = [
  'namespace/meshlb-system',
  'customresourcedefinition.apiextensions.k8s.io/ippools.meshlb.io',
  'customresourcedefinition.apiextensions.k8s.io/l2advertisements.meshlb.io',
  'customresourcedefinition.apiextensions.k8s.io/serviceannouncements.meshlb.io',
  'serviceaccount/meshlb-controller',
  'serviceaccount/meshlb-speaker',
  'clusterrole.rbac.authorization.k8s.io/meshlb-controller',
  'clusterrole.rbac.authorization.k8s.io/meshlb-speaker',
  'clusterrolebinding.rbac.authorization.k8s.io/meshlb-controller',
  'clusterrolebinding.rbac.authorization.k8s.io/meshlb-speaker',
  'role.rbac.authorization.k8s.io/meshlb-controller-leader',
  'role.rbac.authorization.k8s.io/meshlb-speaker',
  'rolebinding.rbac.authorization.k8s.io/meshlb-controller-leader',
  'rolebinding.rbac.authorization.k8s.io/meshlb-speaker',
  'service/meshlb-controller',
  'service/meshlb-speaker',
  'daemonset.apps/meshlb-speaker',
  'deployment.apps/meshlb-controller',
  'poddisruptionbudget.policy/meshlb-controller',
  'validatingadmissionpolicy.admissionregistration.k8s.io/meshlb-speaker-own-pod',
  'validatingadmissionpolicybinding.admissionregistration.k8s.io/meshlb-speaker-own-pod',
].sort();
const MONITORING_OBJECTS = [
  'configmap/meshlb-grafana-dashboard',
  'prometheusrule.monitoring.coreos.com/meshlb',
  'servicemonitor.monitoring.coreos.com/meshlb',
];
/**
 * The metrics the alerts and the dashboard are written against (src/metrics
 * must export these names). A metric renamed there must be renamed here.
 */
const ALERT_METRICS = [
  'meshlb_mesh_members',
  'meshlb_failovers_total',
  'meshlb_wire_conflicts_total',
  'meshlb_kernel_answered_ips',
  'meshlb_leader',
  'meshlb_allocation_failures_total',
  'meshlb_pool_used_addresses',
  'meshlb_pool_capacity_addresses',
  'meshlb_pulse_heard_announcers',
];
const DASHBOARD_METRICS = [
  ...ALERT_METRICS,
  'meshlb_mesh_probe_rtt_seconds_bucket',
  'meshlb_announced_ips',
  'meshlb_wire_replies_total',
];

interface Ctx {
  cp: ControlPlane;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  t.context.cp = await startControlPlane();
});
test.after.always(async (t) => {
  await (t.context as Partial<Ctx>).cp?.stop();
});

/** `kubectl apply --server-side -k dir`, strict field validation (kubectl's default, spelled out). */
const applyKustomize = (cp: ControlPlane, dir: string) =>
  cp.kubectl(['apply', '--server-side', '--validate=strict', '-k', dir]);

async function objectNames(cp: ControlPlane, dir: string): Promise<string[]> {
  const r = await cp.kubectl(['get', '-k', dir, '-o', 'name']);
  if (r.code !== 0) throw new Error(`kubectl get -k ${dir}: ${r.stderr}`);
  return r.stdout.trim().split('\n').sort();
}

async function getJson<T>(cp: ControlPlane, ...args: string[]): Promise<T> {
  const r = await cp.kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface PodTemplate {
  metadata: { labels?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    containers: { name: string; env?: { name: string; value?: string }[] }[];
  };
}
interface Workload {
  spec: { template: PodTemplate };
}

const envOf = (w: Workload, name: string): string | undefined =>
  w.spec.template.spec.containers[0]?.env?.find((e) => e.name === name)?.value;

/** Asks the API server to admit, without storing it, a Pod made of a workload's template. */
async function admitPod(cp: ControlPlane, template: PodTemplate, namespace: string) {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'admission-check', namespace, labels: template.metadata.labels },
    spec: template.spec,
  };
  return kubectlWithInput(cp, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
}

test.serial('deploy/crds and deploy/rbac: their Kustomization lists every manifest of the directory', (t) => {
  for (const dir of ['deploy/crds', 'deploy/rbac']) {
    const manifests = readdirSync(path(dir))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const { docs } = parseDocuments(readFileSync(path(`${dir}/Kustomization`), 'utf8'));
    const listed = ((docs[0] as { resources?: string[] }).resources ?? []).slice().sort();
    t.deepEqual(listed, manifests, dir);
    t.true(manifests.length > 0);
  }
});

test.serial('the default overlay applies server-side with no warning and creates every object', async (t) => {
  const { cp } = t.context;
  const r = await applyKustomize(cp, OVERLAY('default'));
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr.trim(), '', 'no warning at all (dropped or unknown fields, deprecated APIs)');
  t.deepEqual(await objectNames(cp, OVERLAY('default')), DEFAULT_OBJECTS);
  const ns = await getJson<{ metadata: { labels: Record<string, string> } }>(cp, 'namespace', NS);
  for (const mode of ['enforce', 'audit', 'warn'])
    t.is(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`], 'privileged', mode);
  // Applying again changes nothing and still says nothing.
  const again = await applyKustomize(cp, OVERLAY('default'));
  t.is(again.code, 0);
  t.is(again.stderr.trim(), '');
});

test.serial(
  'the checks can fail: an unknown field is refused; a Pod Security warning is printed',
  async (t) => {
    const { cp } = t.context;
    const bad = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'unknown-field', namespace: NS },
      data: {},
      surprise: true,
    });
    const strict = await kubectlWithInput(
      cp,
      ['apply', '--server-side', '--validate=strict', '-f', '-'],
      bad,
    );
    t.not(strict.code, 0);
    t.regex(strict.stderr, /\.surprise: field not declared in schema/);
    // The speaker's DaemonSet in a namespace that only warns under baseline:
    // accepted, with the warning the "no warning" checks above would catch.
    const ns = await cp.newNamespace('warned');
    t.is((await cp.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/warn=baseline'])).code, 0);
    const ds = await getJson<Workload>(cp, 'daemonset', 'meshlb-speaker', '-n', NS);
    const copy = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'speaker', namespace: ns },
      spec: ds.spec,
    };
    const warned = await kubectlWithInput(cp, ['apply', '--server-side', '-f', '-'], JSON.stringify(copy));
    t.is(warned.code, 0, warned.stderr);
    t.regex(warned.stderr, /Warning: would violate PodSecurity "baseline:latest"/);
  },
);

test.serial(
  'Pod Security: the speaker is admitted in its privileged namespace and refused under baseline; the controller passes restricted',
  async (t) => {
    const { cp } = t.context;
    const speaker = await getJson<Workload>(cp, 'daemonset', 'meshlb-speaker', '-n', NS);
    const controller = await getJson<Workload>(cp, 'deployment', 'meshlb-controller', '-n', NS);

    const inOwn = await admitPod(cp, speaker.spec.template, NS);
    t.is(inOwn.code, 0, inOwn.stderr);
    t.is(inOwn.stderr.trim(), '', 'no Pod Security warning in meshlb-system');

    // Why the namespace is labelled privileged: baseline refuses the speaker.
    for (const [level, template] of [
      ['baseline', speaker.spec.template],
      ['restricted', controller.spec.template],
    ] as const) {
      const ns = await cp.newNamespace(level);
      const labelled = await cp.kubectl([
        'label',
        'namespace',
        ns,
        `pod-security.kubernetes.io/enforce=${level}`,
      ]);
      t.is(labelled.code, 0, labelled.stderr);
      const sa = template.spec.serviceAccountName ?? 'default';
      t.is((await cp.kubectl(['create', 'serviceaccount', sa, '-n', ns])).code, 0);
      const r = await admitPod(cp, template, ns);
      if (level === 'baseline') {
        t.not(r.code, 0, 'the speaker must not pass baseline');
        t.regex(r.stderr, /violates PodSecurity "baseline/);
        t.regex(r.stderr, /hostNetwork/);
        t.regex(r.stderr, /NET_RAW/);
      } else {
        t.is(r.code, 0, `the controller passes restricted: ${r.stderr}`);
        t.is(r.stderr.trim(), '');
      }
    }
  },
);

test.serial('RBAC: the speaker may do what it does, and nothing wider', async (t) => {
  const { cp } = t.context;
  const other = 'shop'; // a namespace with Services (authorization does not need it to exist)
  const crud = (verbs: string[], resource: string, extra: Partial<AccessRequest> = {}): AccessRequest[] =>
    verbs.map((verb) => ({ verb, resource, ...extra }));
  const allowed: AccessRequest[] = [
    ...crud(['get', 'list', 'watch'], 'nodes'),
    ...crud(['get', 'list', 'watch'], 'services'),
    ...crud(['get', 'list', 'watch'], 'endpointslices.discovery.k8s.io'),
    ...crud(['get', 'list', 'watch'], 'ippools.meshlb.io'),
    ...crud(['get', 'list', 'watch'], 'l2advertisements.meshlb.io'),
    ...crud(['get', 'create', 'delete'], 'serviceannouncements.meshlb.io', { namespace: other }),
    { verb: 'patch', resource: 'serviceannouncements.meshlb.io', subresource: 'status', namespace: other },
    ...crud(['create', 'patch'], 'events.events.k8s.io', { namespace: other }),
    ...crud(['create', 'patch'], 'events', { namespace: other }),
    ...crud(['get', 'list', 'watch', 'patch'], 'pods', { namespace: NS }),
    { verb: 'patch', resource: 'pods', subresource: 'status', namespace: NS },
  ];
  const denied: AccessRequest[] = [
    // No Secrets anywhere, the mesh key's included (it is mounted, not read through the API).
    { verb: 'get', resource: 'secrets' },
    { verb: 'list', resource: 'secrets' },
    { verb: 'get', resource: 'secrets', namespace: NS },
    { verb: 'get', resource: 'secrets', namespace: NS, name: 'meshlb-mesh-key' },
    { verb: 'list', resource: 'secrets', namespace: NS },
    // Services and Nodes: read only.
    ...crud(['create', 'update', 'patch', 'delete'], 'services', { namespace: other }),
    ...crud(['update', 'patch'], 'services', { namespace: other, subresource: 'status' }),
    ...crud(['create', 'update', 'patch', 'delete'], 'nodes'),
    { verb: 'patch', resource: 'nodes', subresource: 'status' },
    ...crud(['create', 'update', 'delete'], 'endpointslices.discovery.k8s.io', { namespace: other }),
    // Pods: the speakers' own namespace only, and no creating or deleting them.
    ...crud(['create', 'delete', 'update'], 'pods', { namespace: NS }),
    ...crud(['get', 'list', 'patch'], 'pods', { namespace: other }),
    { verb: 'patch', resource: 'pods', subresource: 'status', namespace: other },
    { verb: 'update', resource: 'pods', subresource: 'status', namespace: NS },
    { verb: 'list', resource: 'pods' },
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: NS },
    // meshlb's own kinds: pools and advertisements read only; announcements never listed or updated.
    ...crud(['create', 'update', 'patch', 'delete'], 'ippools.meshlb.io'),
    { verb: 'patch', resource: 'ippools.meshlb.io', subresource: 'status' },
    ...crud(['create', 'update', 'patch', 'delete'], 'l2advertisements.meshlb.io'),
    ...crud(['list', 'watch', 'update', 'patch'], 'serviceannouncements.meshlb.io', { namespace: other }),
    { verb: 'update', resource: 'serviceannouncements.meshlb.io', subresource: 'status', namespace: other },
    // Events: written, never read or deleted.
    ...crud(['list', 'delete'], 'events.events.k8s.io', { namespace: other }),
    // Nothing of the controller's.
    { verb: 'get', resource: 'leases.coordination.k8s.io', namespace: NS, name: 'meshlb-controller' },
    { verb: 'list', resource: 'namespaces' },
    {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: NS,
      name: 'meshlb-controller',
    },
  ];
  const wrong: string[] = [];
  for (const r of allowed) if (!(await canI(cp, SPEAKER, r))) wrong.push(`denied: ${describeAccess(r)}`);
  for (const r of denied) if (await canI(cp, SPEAKER, r)) wrong.push(`allowed: ${describeAccess(r)}`);
  t.deepEqual(wrong, []);
  t.log(`${allowed.length} requests allowed, ${denied.length} denied, as expected`);

  // The base binds the controller's RBAC too (test/cluster/controller-process.test.ts checks it in full).
  t.true(
    await canI(cp, CONTROLLER, {
      verb: 'patch',
      resource: 'services',
      subresource: 'status',
      namespace: other,
    }),
  );
  t.false(await canI(cp, CONTROLLER, { verb: 'get', resource: 'secrets', namespace: NS }));
  // The speaker Pods of its own namespace only (L2Advertisement status: the interfaces they answer on).
  t.true(await canI(cp, CONTROLLER, { verb: 'list', resource: 'pods', namespace: NS }));
  t.false(await canI(cp, CONTROLLER, { verb: 'list', resource: 'pods', namespace: other }));
  t.false(await canI(cp, CONTROLLER, { verb: 'patch', resource: 'pods', namespace: NS, name: 'any' }));
});

test.serial('the monitoring overlay needs the Prometheus Operator CRDs, then applies cleanly', async (t) => {
  const { cp } = t.context;
  // Without the CRDs the monitoring objects cannot be applied (and kubectl says why).
  const before = await applyKustomize(cp, OVERLAY('monitoring'));
  t.not(before.code, 0);
  t.regex(before.stderr, /no matches for kind "(ServiceMonitor|PrometheusRule)"/);

  // Stand-ins (lab/testbed/controlplane/deploy.ts says why they are not the real CRDs).
  await installMonitoringStandInCrds(cp);
  const r = await applyKustomize(cp, OVERLAY('monitoring'));
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr.trim(), '');
  t.deepEqual(
    await objectNames(cp, OVERLAY('monitoring')),
    [...DEFAULT_OBJECTS, ...MONITORING_OBJECTS].sort(),
  );

  const dashboard = await getJson<{
    metadata: { labels: Record<string, string> };
    data: Record<string, string>;
  }>(cp, 'configmap', 'meshlb-grafana-dashboard', '-n', NS);
  t.is(dashboard.metadata.labels.grafana_dashboard, '1');
  const json = JSON.parse(dashboard.data['meshlb.json'] ?? '') as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const exprs = json.panels.flatMap((p) => p.targets.map((x) => x.expr)).join('\n');
  for (const m of DASHBOARD_METRICS) t.true(exprs.includes(m), `the dashboard shows ${m}`);
  t.true(json.panels.length >= 6);

  const rule = await getJson<{
    spec: { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };
  }>(cp, 'prometheusrule', 'meshlb', '-n', NS);
  const alerts = rule.spec.groups.flatMap((g) => g.rules);
  t.deepEqual(alerts.map((a) => a.alert).sort(), [
    'MeshlbAddressConflict',
    'MeshlbAllocationsFailing',
    'MeshlbAnnouncerFlapping',
    'MeshlbControllerNoLeader',
    'MeshlbKernelAnswersServiceIPs',
    'MeshlbMeshMemberDead',
    'MeshlbPlacementOverBound',
    'MeshlbPoolNearlyFull',
    'MeshlbPulseNotHeard',
    'MeshlbSpeakerNotInMesh',
    'MeshlbTargetDown',
  ]);
  for (const m of ALERT_METRICS)
    t.true(
      alerts.some((a) => a.expr.includes(m)),
      `an alert on ${m}`,
    );
  for (const a of alerts) t.regex(a.labels.severity, /^(warning|critical)$/, a.alert);
});

test.serial('the dev overlay turns on debug logs; the default overlay turns them off again', async (t) => {
  const { cp } = t.context;
  const levels = async () => [
    envOf(await getJson<Workload>(cp, 'daemonset', 'meshlb-speaker', '-n', NS), 'MESHLB_LOG_LEVEL'),
    envOf(await getJson<Workload>(cp, 'deployment', 'meshlb-controller', '-n', NS), 'MESHLB_LOG_LEVEL'),
  ];
  t.deepEqual(await levels(), ['info', 'info']);
  const dev = await applyKustomize(cp, OVERLAY('dev'));
  t.is(dev.code, 0, dev.stderr);
  t.is(dev.stderr.trim(), '');
  t.deepEqual(await levels(), ['debug', 'debug']);
  t.is((await applyKustomize(cp, OVERLAY('default'))).code, 0);
  t.deepEqual(await levels(), ['info', 'info']);
});

test.serial('the manifests and the image agree (command, user, Node version)', (t) => {
  const dockerfile = readFileSync(path('Dockerfile'), 'utf8');
  t.is(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1], readFileSync(path('.node-version'), 'utf8').trim());
  // scripts/image (no engine) and the Dockerfile: the same config.
  const config = JSON.parse(readFileSync(path('scripts/image-config.json'), 'utf8')) as {
    Entrypoint: string[];
    Cmd: string[];
    Env: string[];
    User: string;
    WorkingDir: string;
    ExposedPorts: Record<string, unknown>;
  };
  t.deepEqual(config.Entrypoint, ['/usr/local/bin/node', '/app/src/cli/main.js']);
  t.is(/^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1], JSON.stringify(config.Entrypoint).replaceAll(',', ', '));
  t.is(/^CMD (.+)$/m.exec(dockerfile)?.[1], JSON.stringify(config.Cmd));
  t.is(/^USER (\S+)$/m.exec(dockerfile)?.[1], config.User);
  t.is(/^WORKDIR (\S+)$/m.exec(dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')))?.[1], config.WorkingDir);
  t.is(/^ENV (.+)$/m.exec(dockerfile)?.[1], config.Env.join(' '));
  t.is(/^EXPOSE (.+)$/m.exec(dockerfile)?.[1], Object.keys(config.ExposedPorts).join(' '));
  // The runtime stage is the image-rootfs tree alone: no base image, nothing installed.
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  t.regex(runtime, /^\nFROM scratch\nCOPY --from=build \/rootfs\/ \/$/m);
  t.notRegex(runtime, /apt-get|build-essential|RUN /);

  const base = path('deploy/kustomize/base');
  const speaker = parseDocuments(readFileSync(`${base}/speaker.yaml`, 'utf8')).docs[0] as Workload;
  const controller = parseDocuments(readFileSync(`${base}/controller.yaml`, 'utf8')).docs[0] as {
    spec: {
      template: { spec: { securityContext: { runAsUser: number }; containers: { args: string[] }[] } };
    };
  };
  t.is(controller.spec.template.spec.securityContext.runAsUser, 1000);
  t.deepEqual(controller.spec.template.spec.containers[0]?.args, ['controller']);
  const sc = speaker.spec.template.spec.containers[0] as unknown as { args: string[] };
  t.deepEqual(sc.args, ['speaker']);
  for (const name of ['NODE_NAME', 'POD_NAME', 'POD_NAMESPACE', 'POD_IP']) {
    const env = (speaker.spec.template.spec.containers[0]?.env ?? []).find((e) => e.name === name);
    t.truthy(env, name);
  }
  t.is(envOf(speaker, 'MESHLB_MESH_KEY_FILE'), '/etc/meshlb/mesh-key/key');
  t.is(envOf(speaker, 'MESHLB_CONFIG'), '/etc/meshlb/config/config.yaml');
  // The ports the DaemonSet declares are the ones the speaker is told, its defaults, and not MetalLB's.
  t.is(envOf(speaker, 'MESHLB_MESH_PORT'), String(DEFAULT_MESH_PORT));
  t.is(envOf(speaker, 'MESHLB_PULSE_PORT'), String(DEFAULT_PULSE_PORT));
  t.is(envOf(speaker, 'MESHLB_METRICS_ADDR'), DEFAULT_METRICS_ADDR);
  t.is(envOf(speaker, 'MESHLB_HEALTH_ADDR'), DEFAULT_HEALTH_ADDR);
  const c0 = speaker.spec.template.spec.containers[0] as unknown as {
    ports: { name: string; containerPort: number; hostPort: number }[];
    readinessProbe: { httpGet: { host: string; port: number } };
  };
  const portOf = (name: string): number | undefined => c0.ports.find((p) => p.name === name)?.containerPort;
  t.is(portOf('mesh'), DEFAULT_MESH_PORT);
  t.is(portOf('mesh-udp'), DEFAULT_MESH_PORT);
  t.is(portOf('pulse'), DEFAULT_PULSE_PORT);
  t.is(`:${String(portOf('http'))}`, DEFAULT_METRICS_ADDR);
  t.is(`${c0.readinessProbe.httpGet.host}:${String(c0.readinessProbe.httpGet.port)}`, DEFAULT_HEALTH_ADDR);
  for (const metallb of [7946, 7472, 7473])
    t.false(
      c0.ports.some((p) => p.hostPort === metallb),
      `${metallb}`,
    );
});

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** promtool (on PATH: scripts/bootstrap.sh's meshlb_ensure_promtool puts it there) on files in a temp dir. */
function promtool(files: Record<string, unknown>, args: string[]): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-promtool-'));
  try {
    // JSON is YAML: promtool reads both.
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(dir, name), JSON.stringify(content));
    const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
    if (r.error !== undefined)
      throw new Error(
        `promtool: ${r.error.message} (scripts/test puts it on PATH: meshlb_ensure_promtool in scripts/bootstrap.sh)`,
      );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('the alert rules and the dashboard queries are valid PromQL (promtool check rules)', (t) => {
  const rule = parseDocuments(readFileSync(`${OVERLAY('monitoring')}/prometheusrule.yaml`, 'utf8'))
    .docs[0] as {
    spec: { groups: { name: string; rules: Rule[] }[] };
  };
  const ok = promtool({ 'rules.yaml': rule.spec }, ['check', 'rules', 'rules.yaml']);
  t.is(ok.status, 0, ok.output);
  t.regex(ok.output, /SUCCESS: 11 rules found/);
  const dashboard = JSON.parse(readFileSync(`${OVERLAY('monitoring')}/dashboard.json`, 'utf8')) as {
    panels: { targets: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr));
  const records = {
    groups: [
      { name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `meshlb:panel_${String(i)}`, expr })) },
    ],
  };
  const panels = promtool({ 'panels.yaml': records }, ['check', 'rules', 'panels.yaml']);
  t.is(panels.status, 0, panels.output);
  // The check can fail.
  const broken = {
    groups: [{ name: 'x', rules: [{ record: 'x', expr: 'sum by (pool (meshlb_pool_used_addresses)' }] }],
  };
  t.not(promtool({ 'broken.yaml': broken }, ['check', 'rules', 'broken.yaml']).status, 0);
});

test.serial('the alerts fire when they should and not otherwise (promtool test rules)', (t) => {
  const rule = parseDocuments(readFileSync(`${OVERLAY('monitoring')}/prometheusrule.yaml`, 'utf8'))
    .docs[0] as {
    spec: { groups: { name: string; rules: Rule[] }[] };
  };
  // promtool compares annotations too; these tests are about expressions, `for` and labels.
  const groups = rule.spec.groups.map((g) => ({
    ...g,
    rules: g.rules.map((r) => ({ ...r, annotations: {} })),
  }));
  const speaker = 'namespace="meshlb-system",job="meshlb-speaker"';
  const controller = 'namespace="meshlb-system",job="meshlb-controller",pod="c"';
  const fires = (alertname: string, at: string, labels: Record<string, string>[]) => ({
    eval_time: at,
    alertname,
    exp_alerts: labels.map((l) => ({ exp_labels: l })),
  });
  const ns = { namespace: 'meshlb-system' };
  const tests = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [
          // One speaker sees a dead member from minute 1; another sees none.
          { series: `meshlb_mesh_members{state="dead",${speaker},pod="a"}`, values: '0 1x30' },
          { series: `meshlb_mesh_members{state="dead",${speaker},pod="b"}`, values: '0x30' },
          { series: `meshlb_mesh_members{state="alive",${speaker},pod="b"}`, values: '3x30' },
        ],
        alert_rule_test: [
          fires('MeshlbMeshMemberDead', '1m', []),
          fires('MeshlbMeshMemberDead', '3m', [{ ...ns, job: 'meshlb-speaker', severity: 'warning' }]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // An IP moving every minute, for an hour: flapping.
          { series: `meshlb_failovers_total{cause="takeover",${speaker},pod="a"}`, values: '0+1x60' },
          // A node failure that moved 50 IPs at once, once: not flapping.
          {
            series: `meshlb_failovers_total{cause="takeover",namespace="other",job="meshlb-speaker",pod="x"}`,
            values: '0 50x60',
          },
          // First announcements (a burst of new Services) are no failovers.
          {
            series: `meshlb_failovers_total{cause="fresh",namespace="third",job="meshlb-speaker",pod="y"}`,
            values: '0+20x60',
          },
          // Nor are planned rebalancing moves (nodes coming and going under the load bound).
          {
            series: `meshlb_failovers_total{cause="rebalance",namespace="third",job="meshlb-speaker",pod="y"}`,
            values: '0+20x60',
          },
        ],
        alert_rule_test: [
          fires('MeshlbAnnouncerFlapping', '12m', []),
          fires('MeshlbAnnouncerFlapping', '40m', [{ ...ns, job: 'meshlb-speaker', severity: 'warning' }]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // Both speakers see n1 over the bound of 2 for good from minute 1; in
          // another namespace a node is over it for 5 minutes only (a rebalance
          // under way), and a third has the bound off (0).
          { series: `meshlb_placement_addresses{${speaker},pod="a",node="n1"}`, values: '2 3x30' },
          { series: `meshlb_placement_addresses{${speaker},pod="b",node="n1"}`, values: '2 3x30' },
          { series: `meshlb_placement_addresses{${speaker},pod="b",node="n2"}`, values: '1x30' },
          { series: `meshlb_placement_bound{${speaker},pod="a"}`, values: '2x30' },
          { series: `meshlb_placement_bound{${speaker},pod="b"}`, values: '2x30' },
          {
            series: `meshlb_placement_addresses{namespace="other",job="meshlb-speaker",pod="x",node="m1"}`,
            values: '2 3x5 2x25',
          },
          {
            series: `meshlb_placement_bound{namespace="other",job="meshlb-speaker",pod="x"}`,
            values: '2x30',
          },
          {
            series: `meshlb_placement_addresses{namespace="third",job="meshlb-speaker",pod="y",node="k1"}`,
            values: '9x30',
          },
          {
            series: `meshlb_placement_bound{namespace="third",job="meshlb-speaker",pod="y"}`,
            values: '0x30',
          },
        ],
        alert_rule_test: [
          fires('MeshlbPlacementOverBound', '9m', []),
          fires('MeshlbPlacementOverBound', '12m', [{ ...ns, job: 'meshlb-speaker', severity: 'warning' }]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          { series: `meshlb_wire_conflicts_total{${speaker},pod="a",node="n1"}`, values: '0 0 0 1 1 1' },
          { series: `meshlb_wire_conflicts_total{${speaker},pod="b",node="n2"}`, values: '0 0 0 0 0 0' },
        ],
        alert_rule_test: [
          fires('MeshlbAddressConflict', '2m', []),
          fires('MeshlbAddressConflict', '4m', [
            { ...ns, job: 'meshlb-speaker', pod: 'a', node: 'n1', severity: 'critical' },
          ]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // a watches 2 announcers and hears 1 for good; b hears both; c runs without the pulse (no series).
          { series: `meshlb_mesh_watched_announcers{${speaker},pod="a",node="n1"}`, values: '2x30' },
          { series: `meshlb_pulse_heard_announcers{${speaker},pod="a",node="n1"}`, values: '2 1x29' },
          { series: `meshlb_mesh_watched_announcers{${speaker},pod="b",node="n2"}`, values: '2x30' },
          { series: `meshlb_pulse_heard_announcers{${speaker},pod="b",node="n2"}`, values: '2x30' },
          { series: `meshlb_mesh_watched_announcers{${speaker},pod="c",node="n3"}`, values: '3x30' },
        ],
        alert_rule_test: [
          fires('MeshlbPulseNotHeard', '10m', []),
          fires('MeshlbPulseNotHeard', '20m', [
            { ...ns, job: 'meshlb-speaker', pod: 'a', node: 'n1', severity: 'warning' },
          ]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // Node n1's kernel answers for a service IP from minute 1; n2's never.
          { series: `meshlb_kernel_answered_ips{${speaker},pod="a",node="n1"}`, values: '0 1x10' },
          { series: `meshlb_kernel_answered_ips{${speaker},pod="b",node="n2"}`, values: '0x10' },
        ],
        alert_rule_test: [
          fires('MeshlbKernelAnswersServiceIPs', '2m', []),
          fires('MeshlbKernelAnswersServiceIPs', '4m', [
            { ...ns, job: 'meshlb-speaker', pod: 'a', node: 'n1', severity: 'critical' },
          ]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // Two replicas; the leader dies at minute 3 and none takes over. Another
          // namespace's controllers hand over (a minute with none) and keep a leader.
          {
            series: `meshlb_leader{namespace="meshlb-system",job="meshlb-controller",pod="c1"}`,
            values: '1 1 1 0x10',
          },
          {
            series: `meshlb_leader{namespace="meshlb-system",job="meshlb-controller",pod="c2"}`,
            values: '0x13',
          },
          {
            series: `meshlb_leader{namespace="other",job="meshlb-controller",pod="d1"}`,
            values: '1 1 0 0x10',
          },
          {
            series: `meshlb_leader{namespace="other",job="meshlb-controller",pod="d2"}`,
            values: '0 0 0 1x10',
          },
        ],
        alert_rule_test: [
          fires('MeshlbControllerNoLeader', '4m', []),
          fires('MeshlbControllerNoLeader', '6m', [
            { ...ns, job: 'meshlb-controller', severity: 'critical' },
          ]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // A full pool failing every minute for an hour; one failure once (fixed at once).
          {
            series: `meshlb_allocation_failures_total{reason="PoolExhausted",${controller}}`,
            values: '0+1x60',
          },
          {
            series: `meshlb_allocation_failures_total{reason="NoMatchingPool",${controller}}`,
            values: '0 1x60',
          },
        ],
        alert_rule_test: [
          fires('MeshlbAllocationsFailing', '10m', []),
          fires('MeshlbAllocationsFailing', '40m', [
            { ...ns, job: 'meshlb-controller', reason: 'PoolExhausted', severity: 'warning' },
          ]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // Three speakers; pod a sees only itself from minute 1. A single-speaker cluster elsewhere.
          { series: `meshlb_mesh_members{state="alive",${speaker},pod="a",node="n1"}`, values: '3 1x20' },
          { series: `meshlb_mesh_members{state="alive",${speaker},pod="b",node="n2"}`, values: '3 2x20' },
          { series: `meshlb_mesh_members{state="alive",${speaker},pod="c",node="n3"}`, values: '3 2x20' },
          {
            series:
              'meshlb_mesh_members{state="alive",namespace="solo",job="meshlb-speaker",pod="s",node="s1"}',
            values: '1x20',
          },
        ],
        alert_rule_test: [
          fires('MeshlbSpeakerNotInMesh', '3m', []),
          fires('MeshlbSpeakerNotInMesh', '10m', [
            { ...ns, job: 'meshlb-speaker', pod: 'a', node: 'n1', severity: 'warning' },
          ]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          // IPv4 of pool "web" is 95% used, its IPv6 barely; pool "db" half; pool "empty" has no addresses.
          { series: `meshlb_pool_used_addresses{pool="web",family="ipv4",${controller}}`, values: '95x20' },
          {
            series: `meshlb_pool_capacity_addresses{pool="web",family="ipv4",${controller}}`,
            values: '100x20',
          },
          { series: `meshlb_pool_used_addresses{pool="web",family="ipv6",${controller}}`, values: '95x20' },
          {
            series: `meshlb_pool_capacity_addresses{pool="web",family="ipv6",${controller}}`,
            values: '65536x20',
          },
          { series: `meshlb_pool_used_addresses{pool="db",family="ipv4",${controller}}`, values: '5x20' },
          {
            series: `meshlb_pool_capacity_addresses{pool="db",family="ipv4",${controller}}`,
            values: '10x20',
          },
          { series: `meshlb_pool_used_addresses{pool="empty",family="ipv4",${controller}}`, values: '0x20' },
          {
            series: `meshlb_pool_capacity_addresses{pool="empty",family="ipv4",${controller}}`,
            values: '0x20',
          },
        ],
        alert_rule_test: [
          fires('MeshlbPoolNearlyFull', '3m', []),
          fires('MeshlbPoolNearlyFull', '10m', [{ ...ns, pool: 'web', family: 'ipv4', severity: 'warning' }]),
        ],
      },
      {
        interval: '1m',
        input_series: [
          { series: `up{${speaker},pod="a",instance="10.0.0.1:7475"}`, values: '1 0x20' },
          { series: `up{${speaker},pod="b",instance="10.0.0.2:7475"}`, values: '1x20' },
          { series: 'up{namespace="other",job="unrelated",pod="z",instance="z"}', values: '0x20' },
        ],
        alert_rule_test: [
          fires('MeshlbTargetDown', '3m', []),
          fires('MeshlbTargetDown', '10m', [
            { ...ns, job: 'meshlb-speaker', pod: 'a', instance: '10.0.0.1:7475', severity: 'warning' },
          ]),
        ],
      },
    ],
  };
  const r = promtool({ 'rules.yaml': { groups }, 'tests.yaml': tests }, ['test', 'rules', 'tests.yaml']);
  t.is(r.status, 0, r.output);
  t.regex(r.output, /SUCCESS/);
  // The same tests fail against rules that never fire.
  const silent = groups.map((g) => ({ ...g, rules: g.rules.map((x) => ({ ...x, expr: 'vector(1) == 0' })) }));
  const f = promtool({ 'rules.yaml': { groups: silent }, 'tests.yaml': tests }, [
    'test',
    'rules',
    'tests.yaml',
  ]);
  t.not(f.status, 0);
});
