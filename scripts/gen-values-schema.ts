/**
 * Writes the config file's schema (src/config/schema.ts: the one the speaker
 * and the controller check their config with) into the chart's
 * values.schema.json as the `config` value, so `helm install/upgrade` refuses
 * what the processes would refuse.
 *
 *   node scripts/gen-values-schema.ts           writes it
 *   node scripts/gen-values-schema.ts --check   exits 1 if the committed file differs (also a unit test)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { CONFIG_SCHEMA } from '../src/config/index.ts';

export const VALUES_SCHEMA = fileURLToPath(
  new URL('../deploy/helm/meshlb/values.schema.json', import.meta.url),
);

/** values.schema.json with `config` from CONFIG_SCHEMA, formatted as committed. */
export async function generate(schema = CONFIG_SCHEMA): Promise<string> {
  const values = JSON.parse(await readFile(VALUES_SCHEMA, 'utf8')) as { properties: Record<string, unknown> };
  values.properties.config = schema;
  const options = (await prettier.resolveConfig(VALUES_SCHEMA)) ?? {};
  return prettier.format(JSON.stringify(values), { ...options, filepath: VALUES_SCHEMA });
}

export async function stale(): Promise<boolean> {
  return (await readFile(VALUES_SCHEMA, 'utf8')) !== (await generate());
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const out = await stale();
    if (out)
      console.error(
        'gen-values-schema: values.schema.json is out of date: run node scripts/gen-values-schema.ts',
      );
    process.exitCode = out ? 1 : 0;
  } else await writeFile(VALUES_SCHEMA, await generate());
}
