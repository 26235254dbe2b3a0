// The layout rule (docs/development.md, Layout): src/ is the product, what the
// image contains; it never loads the test lab (lab/) nor test/, bench/ or
// scripts/, which the image does not have. The lab imports src/, never the
// reverse.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FORBIDDEN = ['lab', 'test', 'bench', 'scripts'];

/**
 * Every module specifier in a file: `import … from`, `export … from`, a bare
 * `import '…'`, a dynamic `import(…)` and `new URL(…, import.meta.url)` (how
 * src/ would name a file to spawn; a template literal counts up to its first
 * `${`). A dynamic import() of anything but a plain string literal also comes
 * back as null: it cannot be checked.
 */
function specifiers(text: string): (string | null)[] {
  const found: (string | null)[] = [];
  const literal = /(?:\bfrom\s*|\bimport\s*|\bimport\s*\(\s*|\bnew\s+URL\(\s*)(['"`])([^'"`]*?)\1/g;
  for (const m of text.matchAll(literal)) found.push(m[2] ?? '');
  for (const m of text.matchAll(/\bimport\s*\(\s*([^\s)])/g)) if (!/['"`]/.test(m[1] ?? '')) found.push(null);
  found.push(...Array.from(text.matchAll(/\bimport\s*\(\s*`[^`]*\$\{/g), () => null));
  return found;
}

/** The forbidden top-level directory a specifier in `file` resolves into, if any. */
function forbiddenTarget(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return undefined; // node:… or a package
  const target = relative(ROOT, resolve(dirname(file), specifier.replace(/\$\{.*$/, '')));
  const top = target.split(sep)[0];
  return top !== undefined && FORBIDDEN.includes(top) ? top : undefined;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('the specifier scan finds every kind of import, and a path into lab/ is caught', (t) => {
  const sample = [
    "import { a } from './a.ts';",
    "import type { B } from '../../lab/testbed/b.ts';",
    "export { c } from '../c.ts';",
    "export * from '../../test/helpers/d.ts';",
    "import '../../bench/e.ts';",
    "const f = await import('../../lab/chaos/report.ts');",
    'const g = await import(\n  "../../scripts/g.ts"\n);',
    "const h = new URL('../../lab/cli/main.ts', import.meta.url);",
    "import {\n  i,\n  j,\n} from 'node:fs';",
    'const k = await import(name);',
    'const l = await import(`../../lab/${x}.ts`);',
  ].join('\n');
  t.deepEqual(specifiers(sample), [
    './a.ts',
    '../../lab/testbed/b.ts',
    '../c.ts',
    '../../test/helpers/d.ts',
    '../../bench/e.ts',
    '../../lab/chaos/report.ts',
    '../../scripts/g.ts',
    '../../lab/cli/main.ts',
    'node:fs',
    '../../lab/${x}.ts',
    null,
    null,
  ]);
  const file = join(ROOT, 'src/cli/x.ts');
  t.is(forbiddenTarget(file, '../../lab/cli/lab.ts'), 'lab');
  t.is(forbiddenTarget(join(ROOT, 'src/kube/world/x.ts'), '../../../test/helpers/wait.ts'), 'test');
  t.is(forbiddenTarget(file, '../../bench/mesh-real.ts'), 'bench');
  t.is(forbiddenTarget(file, '../../scripts/gen-crds.ts'), 'scripts');
  t.is(forbiddenTarget(file, './commands.ts'), undefined);
  t.is(forbiddenTarget(file, '../kube/api/index.ts'), undefined);
  t.is(forbiddenTarget(file, '../../package.json'), undefined);
  t.is(forbiddenTarget(file, '../../laboratory/x.ts'), undefined);
  t.is(forbiddenTarget(file, 'node:fs'), undefined);
  t.is(forbiddenTarget(file, '../../lab/${x}.ts'), 'lab');
});

test('nothing under src/ imports lab/, test/, bench/ or scripts/ (nor imports what cannot be checked)', (t) => {
  const files = tsFiles(join(ROOT, 'src'));
  t.true(files.length > 50, `found only ${files.length} files under src/`);
  const offences: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const name = relative(ROOT, file);
      if (spec === null) offences.push(`${name}: a dynamic import() of a computed specifier`);
      else {
        const top = forbiddenTarget(file, spec);
        if (top !== undefined) offences.push(`${name}: '${spec}' is in ${top}/`);
      }
    }
  }
  t.deepEqual(
    offences,
    [],
    `src/ must not load ${FORBIDDEN.map((d) => `${d}/`).join(', ')}:\n${offences.join('\n')}`,
  );
});

/** The packages a file loads when it runs: every bare specifier except `import type` / `export type`. */
function runtimePackages(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?[^;=]*?from\s*'([^']+)'/g))
    if (m[2] === undefined) out.push(m[3] ?? '');
  for (const m of text.matchAll(/\bimport\s*\(\s*'([^']+)'/g)) out.push(m[1] ?? '');
  return out
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) =>
      s
        .split('/')
        .slice(0, s.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

test('src/ loads only the packages in "dependencies" (the image has no devDependencies)', (t) => {
  t.deepEqual(
    runtimePackages(
      "import type { A } from '@kubernetes/client-node';\nimport { load } from 'js-yaml';\nexport { b } from '@libp2p/crypto/keys';\nimport x from 'node:fs';",
    ),
    ['js-yaml', '@libp2p/crypto'],
  );
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const offences = tsFiles(join(ROOT, 'src')).flatMap((file) =>
    runtimePackages(readFileSync(file, 'utf8'))
      .filter((p) => !(p in pkg.dependencies))
      .map((p) => `${relative(ROOT, file)}: ${p}`),
  );
  t.deepEqual(offences, []);
});
