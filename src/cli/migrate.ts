import { readFile, writeFile } from 'node:fs/promises';
import process from 'node:process';
import { parseArgs } from 'node:util';
import {
  formatDocuments,
  formatFinding,
  migrate as convert,
  parseDocuments,
  type Finding,
} from '../migrate/index.ts';
import type { Command } from './command.ts';
import { CliUsageError } from './errors.ts';

const HELP = `usage: meshlb migrate [-f FILE ...] [-o FILE]

Converts MetalLB's layer 2 configuration to meshlb's:
  - IPAddressPool (metallb.io/v1beta1)    -> IPPool (meshlb.io/v1alpha1)
  - L2Advertisement (metallb.io/v1beta1)  -> L2Advertisement (meshlb.io/v1alpha1)
Reads YAML (several documents, or a List as "kubectl get -o yaml" prints it) from the
files, or from stdin without -f, and writes meshlb's YAML to stdout or -o. Nothing is
sent to a cluster: review the output, then "kubectl apply --server-side -f" it.

Every object or field that is not carried over as it was is reported on stderr:
  migrate: <kind>/<name>: error: ...     the object is not converted
  migrate: <kind>/<name>: warning: ...   converted, with something changed or left out
  migrate: <kind>/<name>: note: ...      converted as it was meant; worth knowing
Names are kept, namespaces dropped (meshlb's kinds are cluster-scoped), labels kept,
annotations replaced by meshlb.io/migrated-from. BGP objects are not converted (meshlb
is layer 2 only). Services need no change: meshlb reads MetalLB's annotations.

  kubectl get -n metallb-system ipaddresspools.metallb.io,l2advertisements.metallb.io -o yaml \\
    | meshlb migrate -o meshlb.yaml

flags:
  -f, --filename FILE   MetalLB YAML to read (repeatable; "-" is stdin; default stdin)
  -o, --output FILE     where to write meshlb's YAML (default stdout)

Exit status: 0 when every MetalLB object was converted (warnings allowed), 1 when some
could not be (the others are still written), 2 on bad flags. See docs/migrate.md.`;

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

async function runMigrate(args: string[]): Promise<number> {
  let values: { filename?: string[]; output?: string };
  try {
    const parsed = parseArgs({
      args,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        output: { type: 'string', short: 'o' },
      },
    });
    values = parsed.values;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  if (values.output === '') throw new CliUsageError('-o needs a file name');
  const files = values.filename ?? ['-'];

  const findings: Finding[] = [];
  const docs: unknown[] = [];
  for (const file of files) {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const parsed = parseDocuments(text, file === '-' ? 'stdin' : file);
    docs.push(...parsed.docs);
    findings.push(...parsed.findings);
  }
  const result = convert(docs);
  findings.push(...result.findings);

  const yaml = formatDocuments(result.objects);
  if (values.output === undefined) process.stdout.write(yaml);
  else await writeFile(values.output, yaml);
  for (const f of findings) console.error(formatFinding(f));
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  console.error(
    `migrate: ${String(result.objects.length)} objects written, ${String(errors)} errors, ${String(warnings)} warnings`,
  );
  return errors > 0 ? 1 : 0;
}

export const migrate: Command = {
  name: 'migrate',
  summary: "convert MetalLB's IPAddressPools and L2Advertisements to meshlb's",
  help: HELP,
  run: runMigrate,
};
