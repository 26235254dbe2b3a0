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

/**
 * The layers of src/ (docs/architecture.md), lowest first: a module imports
 * only modules of lower layers (and itself). The issue's direction, `ip`,
 * `clock` ← `arp`, `mesh` ← `election` ← `kube` ← `speaker`, `controller` ←
 * `cli`, with the modules it does not name slotted in: `config` (the settings'
 * rules; it reads defaults from `arp` and `mesh` and builds the Kubernetes
 * client), `migrate` (a one-off tool over the API types), `metrics` (reads every
 * process's parts).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['ip', 'clock'],
  ['arp', 'mesh'],
  ['election'],
  ['kube'],
  ['config'],
  ['speaker', 'controller', 'migrate'],
  ['metrics'],
  ['cli'],
];
const layerOf = (module: string): number => LAYERS.findIndex((l) => l.includes(module));

/** The src/ module a path under src/ belongs to (its first directory), or undefined outside src/. */
function moduleOf(path: string): string | undefined {
  const parts = relative(join(ROOT, 'src'), path).split(sep);
  return parts.length > 1 && parts[0] !== '..' ? parts[0] : undefined;
}

/** Every src/ file's relative imports, resolved to files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(join(ROOT, 'src'))) {
    const targets = specifiers(readFileSync(file, 'utf8')).flatMap((s) =>
      s !== null && s.startsWith('.') && s.endsWith('.ts') ? [resolve(dirname(file), s)] : [],
    );
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

test('every src/ module is in a layer, and imports only from the layers below it', (t) => {
  const modules = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  t.deepEqual(
    modules.filter((m) => layerOf(m) < 0),
    [],
    'a new module under src/ needs its layer (LAYERS here, docs/architecture.md)',
  );
  const offences: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = moduleOf(file);
    if (from === undefined) continue;
    for (const target of targets) {
      const to = moduleOf(target);
      if (to === undefined || to === from) continue;
      if (layerOf(to) >= layerOf(from))
        offences.push(
          `${relative(ROOT, file)} imports ${relative(ROOT, target)} (${from} may not import ${to})`,
        );
    }
  }
  t.deepEqual(offences, [], offences.join('\n'));
});

/** The cycles of a directed graph (Tarjan's strongly connected components of more than one node). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w !== undefined) {
          on.delete(w);
          scc.push(w);
        }
      } while (w !== undefined && w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

test('the cycle finder finds a cycle and only that', (t) => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
  ]);
  t.deepEqual(cycles(g), [['a', 'b', 'c']]);
  t.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  );
});

test('no import cycle among src/ files (type-only imports included)', (t) => {
  const found = cycles(importGraph()).map((c) => c.map((f) => relative(ROOT, f)).join(' → '));
  t.deepEqual(found, [], found.join('\n'));
});

/**
 * One job per file: no product file over 400 lines (issue 21 split the ones
 * that were: membership 1,384, speaker 851, transport 654, codec 586, the
 * allocator 564, the responder 529, the controller 492, the CRDs 466). A file
 * that outgrows it is split along its own concerns, not given an exception.
 */
const MAX_LINES = 400;

test(`no src/ file over ${MAX_LINES} lines`, (t) => {
  const offences: string[] = [];
  for (const file of tsFiles(join(ROOT, 'src'))) {
    const lines = readFileSync(file, 'utf8').split('\n').length - 1;
    if (lines > MAX_LINES) offences.push(`${relative(ROOT, file)}: ${lines} lines`);
  }
  t.deepEqual(offences, [], offences.join('\n'));
});
