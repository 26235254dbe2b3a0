/**
 * meshlb's own Kubernetes client: kubeconfig and in-cluster targets, JSON
 * requests and watch streams over node:https (client.ts says why not
 * @kubernetes/client-node).
 */
export {
  APPLY_PATCH,
  KUBE_CLIENT_DEFAULTS,
  KubeClient,
  MERGE_PATCH,
  STRATEGIC_MERGE_PATCH,
  type KubeClientOptions,
  type KubeList,
  type KubeWatch,
  type Query,
  type RequestOptions,
} from './client.ts';
export {
  apiCode,
  KubeApiError,
  KubeConfigError,
  KubeRequestTimeoutError,
  WatchDecodeError,
} from './errors.ts';
export {
  inClusterTarget,
  loadKubeconfigFile,
  parseKubeconfig,
  SERVICE_ACCOUNT_DIR,
  type KubeTarget,
} from './kubeconfig.ts';
export {
  MAX_WATCH_LINE,
  parseWatchLine,
  WATCH_EVENT_TYPES,
  WatchLines,
  type WatchEvent,
  type WatchEventType,
} from './watch-stream.ts';

/** The path of a namespaced object or collection: /api/v1/namespaces/ns/services/name, /apis/g/v/namespaces/ns/plural. */
export function objectPath(
  group: string,
  version: string,
  plural: string,
  namespace?: string,
  name?: string,
): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${base}${ns}/${plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** A MicroTime as the API server parses it (RFC 3339 with exactly six fractional digits). */
export const microTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, -1)}000Z`;
