/**
 * Checks a config document against CONFIG_SCHEMA with ajv and words each
 * problem as Helm's JSON Schema validator words it for the chart's values
 * (`at '/speaker/mesh': additional properties 'probeIntervl' not allowed`,
 * `at '/speaker/meshPort': maximum: got 70,000, want 65,535`), so an operator reads
 * the same sentence from `helm install` and from the speaker's log.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { CONFIG_SCHEMA } from './schema.ts';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const check = ajv.compile(CONFIG_SCHEMA);

const quoted = (v: unknown): string => `'${String(v)}'`;
/** Numbers as Helm prints them: 70,000. */
const num = (v: unknown): string =>
  typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 20 }) : String(v);

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The value an error is about, found from its JSON pointer. */
function at(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    v = (v as Record<string, unknown> | undefined)?.[key];
  }
  return v;
}

function words(e: ErrorObject, doc: unknown): string {
  const p = e.params as Record<string, unknown>;
  const value = at(doc, e.instancePath);
  switch (e.keyword) {
    case 'type':
      return `got ${jsonType(value)}, want ${String(p.type).replaceAll(',', ' or ')}`;
    case 'enum':
      return `value must be one of ${(p.allowedValues as unknown[]).map(quoted).join(', ')}`;
    case 'pattern':
      return `${quoted(value)} does not match pattern ${quoted(p.pattern)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      return `${e.keyword}: got ${num(value)}, want ${num(p.limit)}`;
    case 'minLength':
      return `minLength: got ${num((value as string).length)}, want ${num(p.limit)}`;
    case 'minItems':
      return `minItems: got ${num((value as unknown[]).length)}, want ${num(p.limit)}`;
    default:
      return e.message ?? e.keyword;
  }
}

/**
 * The problems of `doc`, one line each (`at '<pointer>': <what>`); empty when
 * it is valid. Unknown keys at one place are named together, as Helm does.
 */
export function configProblems(doc: unknown): string[] {
  if (check(doc)) return [];
  const extra = new Map<string, string[]>();
  const other: { path: string; text: string }[] = [];
  for (const e of check.errors ?? []) {
    if (e.keyword === 'additionalProperties') {
      const key = quoted((e.params as { additionalProperty: string }).additionalProperty);
      extra.set(e.instancePath, [...(extra.get(e.instancePath) ?? []), key]);
    } else other.push({ path: e.instancePath, text: words(e, doc) });
  }
  const grouped = [...extra].map(([path, keys]) => ({
    path,
    text: `additional properties ${keys.join(', ')} not allowed`,
  }));
  // By place (a stable sort: unknown keys first at each place).
  return [...grouped, ...other]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `at '${f.path}': ${f.text}`);
}
