// The speaker DaemonSet's security and runtime fields, one by one (the
// cluster tests apply the manifests and compare Helm's rendering with them;
// no image runs here, so these fields are checked as written).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAllYaml, type V1DaemonSet, type V1Deployment } from '@kubernetes/client-node';
import test from 'ava';

/** The object of `kind` in a file of deploy/kustomize/base, as plain data. */
function objectOf(file: string, kind: string): unknown {
  const text = readFileSync(
    fileURLToPath(new URL(`../../deploy/kustomize/base/${file}`, import.meta.url)),
    'utf8',
  );
  const docs = (loadAllYaml(text) as { kind?: string }[]).filter((d) => d.kind === kind);
  if (docs.length !== 1) throw new Error(`${file}: ${String(docs.length)} objects of kind ${kind}`);
  return JSON.parse(JSON.stringify(docs[0]));
}

test('speaker DaemonSet: host network, NET_RAW only, no escalation, read-only root, downward API, probes, tolerations, short grace', (t) => {
  const ds = objectOf('speaker.yaml', 'DaemonSet') as V1DaemonSet;
  const pod = ds.spec?.template.spec;
  const c = pod?.containers.find((x) => x.name === 'speaker');
  if (pod === undefined || c === undefined) return t.fail('no speaker container');
  t.true(pod.hostNetwork);
  t.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_RAW'] });
  t.false(c.securityContext?.allowPrivilegeEscalation);
  t.false(c.securityContext?.privileged);
  t.true(c.securityContext?.readOnlyRootFilesystem);
  t.is(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  const fieldOf = (name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
  t.is(fieldOf('NODE_NAME'), 'spec.nodeName');
  t.is(fieldOf('POD_NAME'), 'metadata.name');
  t.is(fieldOf('POD_NAMESPACE'), 'metadata.namespace');
  t.is(fieldOf('POD_IP'), 'status.podIP');
  t.is(c.livenessProbe?.httpGet?.path, '/healthz');
  t.is(c.readinessProbe?.httpGet?.path, '/readyz');
  t.true(
    pod.tolerations?.some(
      (x) => x.key === 'node-role.kubernetes.io/control-plane' && x.operator === 'Exists',
    ),
  );
  t.true((pod.terminationGracePeriodSeconds ?? 30) <= 10, 'the hand-off takes < 2 s; a short grace');
  t.true(
    c.volumeMounts?.every(
      (m) => m.readOnly === true || m.mountPath === '/tmp' || m.mountPath === '/var/lib/meshlb',
    ),
    'the key and the config are read-only; only /tmp (an emptyDir) and the state directory are written',
  );
  // The state directory: a hostPath (it outlives the container and the Pod), named by node in MESHLB_STATE_DIR.
  const state = pod.volumes?.find((v) => v.name === 'state');
  t.deepEqual(state?.hostPath, { path: '/var/lib/meshlb', type: 'DirectoryOrCreate' });
  t.is(c.env?.find((e) => e.name === 'MESHLB_STATE_DIR')?.value, '/var/lib/meshlb/$(NODE_NAME)');
  const names = (c.env ?? []).map((e) => e.name);
  t.true(
    names.indexOf('NODE_NAME') < names.indexOf('MESHLB_STATE_DIR'),
    '$(NODE_NAME) expands: defined before',
  );
});

test('controller Deployment: two replicas, non-root, nothing to escalate', (t) => {
  const d = objectOf('controller.yaml', 'Deployment') as V1Deployment;
  const c = d.spec?.template.spec?.containers[0];
  t.is(d.spec?.replicas, 2);
  t.deepEqual(c?.securityContext?.capabilities?.drop, ['ALL']);
  t.is(c?.securityContext?.capabilities?.add, undefined);
  t.false(c?.securityContext?.allowPrivilegeEscalation);
  t.true(c?.securityContext?.readOnlyRootFilesystem);
  t.true(c?.securityContext?.runAsNonRoot ?? d.spec?.template.spec?.securityContext?.runAsNonRoot);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-');

test("every alert's runbook_url names a section of docs/troubleshooting.md that exists", (t) => {
  const read = (p: string): string =>
    readFileSync(fileURLToPath(new URL(`../../${p}`, import.meta.url)), 'utf8');
  const rule = loadAllYaml(read('deploy/kustomize/overlays/monitoring/prometheusrule.yaml'))[0] as {
    spec: { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
  };
  const anchors = new Set(
    read('docs/troubleshooting.md')
      .split('\n')
      .filter((l) => /^#{2,4} /.test(l))
      .map((l) => slug(l.replace(/^#+ /, ''))),
  );
  t.true(anchors.has('two-macs-answer'), 'the slugs are computed as GitHub does');
  const alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
  t.true(alerts.length >= 9);
  for (const a of alerts) {
    const url = a.annotations?.runbook_url ?? '';
    const m = /^docs\/troubleshooting\.md#(.+)$/.exec(url);
    t.truthy(m, `${a.alert ?? ''}: runbook_url "${url}"`);
    t.true(
      anchors.has(m?.[1] ?? ''),
      `${a.alert ?? ''}: no section #${m?.[1] ?? ''} in docs/troubleshooting.md`,
    );
  }
});

test('the version moves together: package.json, the chart (version, appVersion), the manifests’ image, the CHANGELOG', (t) => {
  const read = (p: string): string =>
    readFileSync(fileURLToPath(new URL(`../../${p}`, import.meta.url)), 'utf8');
  const version = (JSON.parse(read('package.json')) as { version: string }).version;
  const chart = read('deploy/helm/meshlb/Chart.yaml');
  t.regex(chart, new RegExp(`^version: ${version}$`, 'm'));
  t.regex(chart, new RegExp(`^appVersion: ${version}$`, 'm'));
  for (const file of ['speaker.yaml', 'controller.yaml'])
    t.regex(read(`deploy/kustomize/base/${file}`), new RegExp(`image: meshlb:${version}\\n`), file);
  // Released versions have their section; the next one collects under "Unreleased" until it is cut.
  t.regex(read('CHANGELOG.md'), new RegExp(`^## ${version.replaceAll('.', '\\.')}$`, 'm'));
});
