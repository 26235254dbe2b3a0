// The API server is the release its build names (tools/controlplane/build.sh
// writes BUILD beside bin/): scripts/test runs the API-server tests twice, on the
// newest Kubernetes and on the oldest meshlb supports, and this says which ran.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { VersionApi } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';

const test = anyTest as TestFn<{ cp: ControlPlane }>;

test.before(async (t) => {
  t.context.cp = await startControlPlane();
});
test.after.always(async (t) => {
  await (t.context as Partial<{ cp: ControlPlane }>).cp?.stop();
});

test('the API server runs the Kubernetes release its build names', async (t) => {
  const { cp } = t.context;
  const build = readFileSync(join(cp.binDir, '..', 'BUILD'), 'utf8');
  const built = /^k8s (v\S+)$/m.exec(build)?.[1];
  t.truthy(built, `no k8s line in ${build}`);
  const info = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
  t.is(info.gitVersion, built ?? '');
  t.log(`kube-apiserver ${info.gitVersion}`);
});
