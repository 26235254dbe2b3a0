/**
 * Where the API server is and how to prove who we are: a kubeconfig file (the
 * fields meshlb supports) or the in-cluster ServiceAccount files. Pure apart
 * from reading the files a kubeconfig names. Unsupported ways of
 * authenticating (exec credential plugins, auth-provider, basic auth) are a
 * KubeConfigError naming them, never a silent anonymous request.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { load } from 'js-yaml';
import { KubeConfigError } from './errors.ts';

/** One API server and the credentials for it. */
export interface KubeTarget {
  /** https://host:port (a path prefix is kept). */
  server: string;
  /** PEM CA bundle; undefined: the system's roots. */
  ca?: Buffer;
  /** Client certificate and key (PEM). */
  cert?: Buffer;
  key?: Buffer;
  /** A bearer token given inline. */
  token?: string;
  /** A file holding a bearer token, read again every tokenRefreshMs (bound ServiceAccount tokens rotate). */
  tokenFile?: string;
  insecureSkipTlsVerify?: boolean;
  /** TLS server name, if not the server's host. */
  tlsServerName?: string;
}

/** Where a Pod's ServiceAccount credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster target: KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount's token and CA. */
export function inClusterTarget(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): KubeTarget {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (host === '') throw new KubeConfigError('not in a Pod: KUBERNETES_SERVICE_HOST is not set');
  const tokenFile = join(dir, 'token');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readOrThrow(join(dir, 'ca.crt'), 'the ServiceAccount CA'),
    tokenFile,
  };
}

type Yaml = Record<string, unknown>;

const isObject = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

function readOrThrow(path: string, what: string, prefix = ''): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new KubeConfigError(
      `${prefix}cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The named entries of a kubeconfig list (clusters, users, contexts), first one wins. */
function named(doc: Yaml, list: string, field: string, file: string): Map<string, Yaml> {
  const out = new Map<string, Yaml>();
  const items = doc[list] ?? [];
  if (!Array.isArray(items)) throw new KubeConfigError(`${file}: ${list} must be a list`);
  for (const item of items) {
    if (!isObject(item) || typeof item.name !== 'string')
      throw new KubeConfigError(`${file}: every entry of ${list} needs a name`);
    const body = item[field] ?? {};
    if (!isObject(body))
      throw new KubeConfigError(`${file}: ${list} ${item.name}: ${field} must be a mapping`);
    if (!out.has(item.name)) out.set(item.name, body);
  }
  return out;
}

/**
 * The target of a kubeconfig's context (`context`, else its current-context).
 * `file` names the file in errors and anchors relative paths.
 */
export function parseKubeconfig(text: string, file: string, context?: string): KubeTarget {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (err) {
    throw new KubeConfigError(`${file}: not YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (!isObject(doc)) throw new KubeConfigError(`${file}: not a kubeconfig (expected a mapping)`);
  const name = context ?? doc['current-context'];
  if (typeof name !== 'string' || name === '')
    throw new KubeConfigError(`${file}: no current-context and none chosen`);
  const ctx = named(doc, 'contexts', 'context', file).get(name);
  if (ctx === undefined) throw new KubeConfigError(`${file}: context "${name}" is not defined`);
  const clusterName = typeof ctx.cluster === 'string' ? ctx.cluster : '';
  const cluster = named(doc, 'clusters', 'cluster', file).get(clusterName);
  if (cluster === undefined)
    throw new KubeConfigError(
      `${file}: context "${name}" names cluster "${clusterName}", which is not defined`,
    );
  const userName = typeof ctx.user === 'string' ? ctx.user : undefined;
  const user = userName === undefined ? {} : named(doc, 'users', 'user', file).get(userName);
  if (user === undefined)
    throw new KubeConfigError(
      `${file}: context "${name}" names user "${userName ?? ''}", which is not defined`,
    );
  const base = dirname(file);
  const pem = (obj: Yaml, dataKey: string, fileKey: string, what: string): Buffer | undefined => {
    const data = obj[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const path = obj[fileKey];
    if (typeof path === 'string' && path !== '')
      return readOrThrow(isAbsolute(path) ? path : join(base, path), `${what} (${fileKey})`, `${file}: `);
    return undefined;
  };
  if (typeof cluster.server !== 'string' || !/^https?:\/\//.test(cluster.server))
    throw new KubeConfigError(`${file}: cluster "${clusterName}" has no http(s) server`);
  for (const unsupported of ['exec', 'auth-provider', 'username'])
    if (user[unsupported] !== undefined)
      throw new KubeConfigError(
        `${file}: user "${userName ?? ''}" authenticates with ${unsupported}, which meshlb does not support: use a kubeconfig with a token, a token file or a client certificate (for example a ServiceAccount token: docs/install.md)`,
      );
  const target: KubeTarget = { server: cluster.server.replace(/\/+$/, '') };
  const ca = pem(cluster, 'certificate-authority-data', 'certificate-authority', 'the CA');
  if (ca !== undefined) target.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) target.insecureSkipTlsVerify = true;
  if (typeof cluster['tls-server-name'] === 'string') target.tlsServerName = cluster['tls-server-name'];
  const cert = pem(user, 'client-certificate-data', 'client-certificate', 'the client certificate');
  const key = pem(user, 'client-key-data', 'client-key', 'the client key');
  if ((cert === undefined) !== (key === undefined))
    throw new KubeConfigError(
      `${file}: user "${userName ?? ''}" has a client certificate without its key, or a key without its certificate`,
    );
  if (cert !== undefined && key !== undefined) {
    target.cert = cert;
    target.key = key;
  }
  if (typeof user.token === 'string' && user.token !== '') target.token = user.token;
  else if (typeof user.tokenFile === 'string' && user.tokenFile !== '')
    target.tokenFile = isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile);
  return target;
}

/** parseKubeconfig of a file. */
export function loadKubeconfigFile(file: string, context?: string): KubeTarget {
  return parseKubeconfig(readOrThrow(file, 'the kubeconfig').toString('utf8'), file, context);
}
