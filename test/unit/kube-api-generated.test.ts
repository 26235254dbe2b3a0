import { readdir } from 'node:fs/promises';
import test from 'ava';
import { generate, ROOT, stale } from '../../scripts/gen-crds.ts';
import { CRDS } from '../../src/kube/api/index.ts';

test('the committed CRDs, types and field reference equal a fresh generation (run node scripts/gen-crds.ts)', async (t) => {
  t.deepEqual(await stale(), []);
});

test('deploy/crds holds exactly the generated CRDs, one per kind', async (t) => {
  const generated = [...(await generate()).keys()].filter((p) => p.startsWith('deploy/crds/')).sort();
  // Every YAML file (the directory's Kustomization lists them for kustomize and Helm).
  const present = (await readdir(`${ROOT}deploy/crds`))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `deploy/crds/${f}`)
    .sort();
  t.deepEqual(present, generated);
  t.is(generated.length, CRDS.length);
});

test('a change to the definitions changes the generated files (the check can fail)', async (t) => {
  const [first, ...rest] = CRDS;
  if (first === undefined) return t.fail();
  const changed = {
    ...first,
    spec: { ...first.spec, names: { ...first.spec.names, shortNames: ['changed'] } },
  };
  const files = await generate([changed, ...rest]);
  const fresh = await generate();
  const differing = [...files.keys()].filter((p) => files.get(p) !== fresh.get(p));
  t.deepEqual(differing.sort(), ['deploy/crds/ippools.meshlb.io.yaml', 'docs/api.md']);
});
