/**
 * Reading the config file: YAML, then CONFIG_SCHEMA (validate.ts). Both
 * processes read the same file (the ConfigMap meshlb-config), each its own
 * section.
 */
import { load as loadYaml } from 'js-yaml';
import { ConfigFileError } from './errors.ts';
import { configProblems } from './validate.ts';

/** Where the ConfigMap meshlb-config is mounted in both workloads. */
export const DEFAULT_CONFIG_FILE = '/etc/meshlb/config/config.yaml';

/** The config file's sections, checked against the schema. */
export interface ConfigDocument {
  speaker?: Record<string, unknown>;
  controller?: Record<string, unknown>;
}

/**
 * Reads and checks `file`. A missing file is no error unless `explicit` (named
 * by a flag: the manifests set MESHLB_CONFIG whether or not the optional
 * ConfigMap exists); then undefined. Throws ConfigFileError naming the file
 * and every wrong setting.
 */
export function readConfigFile(
  file: string,
  explicit: boolean,
  read: (path: string) => string,
): ConfigDocument | undefined {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigFileError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = text.trim() === '' ? {} : loadYaml(text);
  } catch (err) {
    throw new ConfigFileError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  doc ??= {};
  const problems = configProblems(doc);
  if (problems.length > 0)
    throw new ConfigFileError(
      `${file} does not meet the config schema (docs/configuration.md): ${problems.join('; ')}`,
    );
  return doc as ConfigDocument;
}

/**
 * A scalar setting of a section (`speaker`, `controller`) as text, for the
 * validators flags and variables go through; its source names the file and
 * the key. The schema has checked its type.
 */
export function fileValue(
  doc: ConfigDocument | undefined,
  file: string,
  section: keyof ConfigDocument,
  key: string,
): { value: string; source: string } | undefined {
  const v = doc?.[section]?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
    throw new ConfigFileError(`${file}: ${section}.${key} must be a string, number or boolean`);
  return { value: String(v), source: `${file} ${section}.${key}` };
}
