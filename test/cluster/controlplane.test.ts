import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { CoreV1Api, RbacAuthorizationV1Api, Watch, type V1Service } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';

const test = anyTest as TestFn<{ cp: ControlPlane }>;

test.before(async (t) => {
  t.context.cp = await startControlPlane();
});

test.after.always(async (t) => {
  await t.context.cp.stop();
});

test('a LoadBalancer Service arrives through a client-node watch', async (t) => {
  const { cp } = t.context;
  const namespace = await cp.newNamespace('watch');
  const seen = Promise.withResolvers<V1Service>();
  const watch = new Watch(cp.kubeConfig);
  const abort = await watch.watch(
    `/api/v1/namespaces/${namespace}/services`,
    {},
    (phase, obj: V1Service) => {
      if (phase === 'ADDED' && obj.metadata?.name === 'web') seen.resolve(obj);
    },
    (err: unknown) => {
      if (err !== null && err !== undefined) seen.reject(err);
    },
  );
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'web' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
    },
  });
  const timeout = setTimeout(() => {
    seen.reject(new Error('no ADDED event within 10 s'));
  }, 10_000);
  try {
    const svc = await seen.promise;
    t.is(svc.spec?.type, 'LoadBalancer');
    t.regex(svc.spec?.clusterIP ?? '', /^10\.96\./);
  } finally {
    clearTimeout(timeout);
    abort.abort();
  }
});

test('RBAC is enforced: a ServiceAccount without rights is refused until a Role grants them', async (t) => {
  const { cp } = t.context;
  const namespace = await cp.newNamespace('rbac');
  const asSa = (await cp.kubeConfigFor(namespace, 'nobody')).makeApiClient(CoreV1Api);
  const refused = await t.throwsAsync(asSa.listNamespacedService({ namespace }));
  t.is((refused as { code?: number }).code, 403);

  const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'list-services' },
      rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'nobody-lists-services' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'list-services' },
      subjects: [{ kind: 'ServiceAccount', name: 'nobody', namespace }],
    },
  });
  const list = await asSa.listNamespacedService({ namespace });
  t.deepEqual(list.items, []);
  // Still nothing outside the granted namespace.
  const other = await t.throwsAsync(asSa.listNamespacedService({ namespace: 'default' }));
  t.is((other as { code?: number }).code, 403);
});

test('the binaries come from the cache: a second build.sh builds nothing', (t) => {
  const build = fileURLToPath(new URL('../../tools/controlplane/build.sh', import.meta.url));
  const started = performance.now();
  const dir = execFileSync(build, { encoding: 'utf8' }).trim();
  const ms = performance.now() - started;
  t.is(dir, t.context.cp.binDir);
  t.true(ms < 5_000, `build.sh took ${ms.toFixed(0)} ms`);
});
