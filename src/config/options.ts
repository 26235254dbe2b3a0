/**
 * What every long-running `meshlb` command resolves the same way: log levels,
 * the namespace, flag-or-variable lookup, the kubeconfig. Each command keeps
 * its own flags and HELP; this file only holds the shared rules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inClusterTarget, KubeClient, loadKubeconfigFile } from '../kube/client/index.ts';
import { parseListenAddress } from '../ip/index.ts';
import { CliUsageError } from './errors.ts';
import { LOG_LEVELS, type LogLevel } from './schema.ts';

/** Where a ServiceAccount's namespace is mounted in a Pod. */
const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
export const DEFAULT_NAMESPACE = 'meshlb-system';
/** RFC 1123 label: a namespace name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v === '' ? undefined : v;

export function readNamespaceFile(): string | undefined {
  try {
    return nonEmpty(readFileSync(NAMESPACE_FILE, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** A setting's text and where it came from (`--flag`, `VARIABLE`, `config.yaml speaker.key`), for errors. */
export interface Picked {
  value: string;
  source: string;
}

/** The flag's value, else the variable's (an empty variable counts as unset). */
export function picker(
  values: Readonly<Record<string, string | undefined>>,
  env: NodeJS.ProcessEnv,
): (flag: string, variable: string) => Picked | undefined {
  return (flag, variable) => {
    const v = values[flag];
    if (v !== undefined) return { value: v, source: `--${flag}` };
    const e = nonEmpty(env[variable]);
    return e === undefined ? undefined : { value: e, source: variable };
  };
}

export function logLevelOf(picked: Picked | undefined): LogLevel {
  const level = (picked?.value ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new CliUsageError(
      `${picked?.source ?? ''} must be one of ${LOG_LEVELS.join(', ')}; got "${level}"`,
    );
  return level;
}

/** The namespace: flag or variable, else POD_NAMESPACE, else the in-cluster ServiceAccount's, else meshlb-system. */
export function namespaceOf(
  picked: Picked | undefined,
  env: NodeJS.ProcessEnv,
  inClusterNamespace: () => string | undefined,
): string {
  const namespace = picked?.value ?? nonEmpty(env.POD_NAMESPACE) ?? inClusterNamespace() ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace))
    throw new CliUsageError(`${picked?.source ?? 'the namespace'}: "${namespace}" is not a namespace name`);
  return namespace;
}

/** An endpoint's listen address: the setting, else `fallback`; "off": none. */
export function listenAddrOf(picked: Picked | undefined, fallback: string): string | undefined {
  if (picked?.value === 'off') return undefined;
  const addr = picked?.value ?? fallback;
  try {
    parseListenAddress(addr);
  } catch (err) {
    throw new CliUsageError(
      `${picked?.source ?? 'the listen address'}: ${(err as Error).message} (or "off")`,
    );
  }
  return addr;
}

/** A whole number of milliseconds > 0 (or ≥ 0 with `zero`). */
export function millisOf(p: Picked, zero = false): number {
  const ms = Number(p.value);
  if (!/^\d+$/.test(p.value) || !Number.isSafeInteger(ms) || (!zero && ms === 0))
    throw new CliUsageError(
      `${p.source} must be a whole number of milliseconds${zero ? '' : ' > 0'}; got "${p.value}"`,
    );
  return ms;
}

/**
 * The cluster to talk to: the kubeconfig file given, else KUBECONFIG (the
 * first file of the list that exists), else in-cluster
 * (KUBERNETES_SERVICE_HOST is set in every Pod), else ~/.kube/config.
 * Returns a client and where its target came from (for the log).
 */
export function loadKubeClient(file: string | undefined, env: NodeJS.ProcessEnv): [KubeClient, string] {
  const load = (path: string): KubeClient => {
    try {
      return new KubeClient(loadKubeconfigFile(path));
    } catch (err) {
      throw new CliUsageError(`cannot load the kubeconfig ${path}: ${(err as Error).message}`);
    }
  };
  if (file !== undefined) return [load(file), file];
  const listed = nonEmpty(env.KUBECONFIG);
  if (listed !== undefined) {
    const paths = listed.split(delimiter).filter((p) => p !== '');
    const first = paths.find((p) => existsSync(p));
    if (first === undefined) throw new CliUsageError(`KUBECONFIG=${listed}: no such file`);
    return [load(first), `KUBECONFIG=${first}`];
  }
  if (nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined) {
    try {
      return [new KubeClient(inClusterTarget(env)), 'in-cluster'];
    } catch (err) {
      throw new CliUsageError(`cannot use the in-cluster ServiceAccount: ${(err as Error).message}`);
    }
  }
  const home = join(homedir(), '.kube', 'config');
  if (!existsSync(home))
    throw new CliUsageError(
      'no cluster to talk to: pass --kubeconfig, set KUBECONFIG or MESHLB_KUBECONFIG, or run in a Pod',
    );
  return [load(home), home];
}
