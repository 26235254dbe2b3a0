/**
 * The speaker's settings: each from a flag, else its MESHLB_ variable (or the
 * Kubernetes convention: NODE_NAME, POD_NAME, POD_IP from the downward API),
 * else the `speaker:` section of the config file (a ConfigMap), else the
 * default. Every default and its reason: docs/configuration.md.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { validateWireConfig, WireConfigError, type WireConfig } from '../arp/index.ts';
import { BALANCE_SLACK } from '../election/index.ts';
import {
  MeshConfigError,
  PROFILES,
  validateMeshConfig,
  validatePulseConfig,
  WATCH_DEFAULTS,
  type MeshConfig,
  type ProfileName,
  type WatchConfig,
} from '../mesh/index.ts';
import {
  CliUsageError,
  ConfigFileError,
  DEFAULT_CONFIG_FILE,
  fileValue,
  readConfigFile,
  logLevelOf,
  listenAddrOf,
  millisOf,
  namespaceOf,
  nonEmpty,
  picker,
  readNamespaceFile,
  type LogLevel,
  type Picked,
} from '../config/index.ts';
import { LOCAL_TRAFFIC_WAIT_MS } from './local-traffic.ts';
import { REBALANCE_INTERVAL_MS } from './rebalance.ts';

/**
 * The mesh's TCP and UDP port, and the metrics address: not MetalLB's (7946
 * for memberlist, 7472 for metrics), so that both run on a node during a
 * migration (docs/migrate.md); 7473 is the controller's and MetalLB's FRR
 * metrics', 7474 the speaker's probes.
 */
export const DEFAULT_MESH_PORT = 7947;
/** The pulse's UDP port (heartbeats to heirs, mesh/pulse.ts), the same on every node: the mesh's next. */
export const DEFAULT_PULSE_PORT = 7948;
export const DEFAULT_METRICS_ADDR = ':7475';
/**
 * The probes (/healthz, /readyz) and the debug bodies (/debug/mesh,
 * /debug/summary): loopback, so they are not served to the node's networks
 * (the kubelet probes 127.0.0.1 on a hostNetwork Pod; `kubectl port-forward`
 * reaches it too). 7474: 7473 is the controller's, and MetalLB's FRR metrics'.
 */
export const DEFAULT_HEALTH_ADDR = '127.0.0.1:7474';
export const DEFAULT_MESH_KEY_FILE = '/etc/meshlb/mesh-key/key';
/**
 * On SIGTERM, keep answering until every IP this node held has a successor's
 * claim, at most this long (make-before-break). The successors decide on the
 * mesh's `left` update and claim within milliseconds; 1 s covers a busy node
 * and stays well inside the DaemonSet's 10 s termination grace.
 */
export const DEFAULT_HANDOFF_TIMEOUT_MS = 1_000;

export interface SpeakerSettings {
  kubeconfig: string | undefined;
  namespace: string;
  nodeName: string;
  podName: string;
  /** The node's address the mesh listens on and publishes (POD_IP under hostNetwork). */
  meshAddress: string;
  meshPort: number;
  /** UDP port of the pulse (heartbeats to heirs); 0: no pulse, heirs check instead (slower failover). */
  pulsePort: number;
  meshKeyFile: string;
  meshProfile: ProfileName;
  mesh: MeshConfig;
  watch: WatchConfig;
  wire: WireConfig;
  /** Interfaces to answer ARP/NDP on; 'auto': every interface with an address, except virtual ones. */
  interfaces: readonly string[] | 'auto';
  /**
   * A named interface missing at start: wait for it to appear (true), or stop
   * with an error naming it (false, the default: a typo in --interfaces must not
   * leave a speaker that answers on nothing and looks healthy).
   */
  waitForInterfaces: boolean;
  /** host:port of /metrics; undefined: off. */
  metricsAddr: string | undefined;
  /** host:port of /healthz, /readyz, /debug/*; undefined: off. The same as metricsAddr: one server. */
  healthAddr: string | undefined;
  /**
   * The speaker's directory on the node: its peer key (peer-key.ts), kept
   * across restarts; undefined: a new identity at every start. The DaemonSet
   * sets /var/lib/meshlb/<node> (a hostPath).
   */
  stateDir: string | undefined;
  logLevel: LogLevel;
  handoffTimeoutMs: number;
  /** Takes of Local Services' IPs wait at most this long for the node's kube-proxy (local-traffic.ts). */
  localTrafficWaitMs: number;
  /** The load bound's slack ε (election/balance.ts), or 'off'. */
  balanceSlack: number | 'off';
  /** At most one rebalancing take per this many ms (rebalance.ts). */
  rebalanceIntervalMs: number;
  /** The config file read, if any. */
  configFile: string | undefined;
}

/** The config file's `speaker:` section (its keys and types: config/schema.ts). */
type FileSection = Partial<
  Record<
    | 'interfaces'
    | 'waitForInterfaces'
    | 'meshProfile'
    | 'mesh'
    | 'watch'
    | 'wire'
    | 'handoffTimeoutMs'
    | 'localTrafficWaitMs'
    | 'balanceSlack'
    | 'rebalanceIntervalMs'
    | 'logLevel'
    | 'metricsAddr'
    | 'healthAddr'
    | 'stateDir'
    | 'meshPort'
    | 'pulsePort',
    unknown
  >
>;

const FLAGS = [
  'kubeconfig',
  'namespace',
  'node-name',
  'pod-name',
  'mesh-address',
  'mesh-port',
  'pulse-port',
  'mesh-key-file',
  'mesh-profile',
  'interfaces',
  'metrics-addr',
  'health-addr',
  'state-dir',
  'config',
  'log-level',
  'handoff-timeout-ms',
  'local-traffic-wait-ms',
  'balance-slack',
  'rebalance-interval-ms',
] as const;
/** Flags that take no value. */
const SWITCHES = ['wait-for-interfaces'] as const;

function interfacesOf(
  p: Picked | undefined,
  section: FileSection,
  file: string | undefined,
): readonly string[] | 'auto' {
  let list: unknown = p?.value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  let source = p?.source;
  if (p === undefined) {
    list = section.interfaces;
    source = `${file ?? 'config'} speaker.interfaces`;
  }
  if (
    list === undefined ||
    list === 'auto' ||
    (Array.isArray(list) && list.length === 1 && list[0] === 'auto')
  )
    return 'auto';
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((s) => typeof s === 'string' && /^[^\s/]{1,15}$/.test(s))
  )
    throw new CliUsageError(
      `${source ?? ''}: "auto" or a list of interface names (at most 15 characters each)`,
    );
  return [...new Set(list as string[])];
}

/** The load bound's slack: a number ≥ 0 (at most 10: beyond, the bound never binds), or off. */
/** A port setting; `zero` names what 0 means where 0 is allowed. */
function portOf(p: Picked | undefined, fallback: number, zero?: string): number {
  if (p === undefined) return fallback;
  const n = Number(p.value);
  if (!(/^\d+$/.test(p.value) && n >= (zero === undefined ? 1 : 0) && n <= 65_535))
    throw new CliUsageError(
      `${p.source} must be a port number 1…65535${zero === undefined ? '' : `, or ${zero}`}; got "${p.value}"`,
    );
  return n;
}

export function balanceSlackOf(p: Picked | undefined): number | 'off' {
  if (p === undefined) return BALANCE_SLACK;
  const v = p.value.trim();
  if (v === 'off') return 'off';
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0 || n > 10)
    throw new CliUsageError(
      `${p.source} must be a number from 0 to 10 (0.25: a quarter over the even share) or off; got "${p.value}"`,
    );
  return n;
}

/** true / false (also 1 / 0); unset is false. */
function booleanOf(p: Picked | undefined): boolean {
  if (p === undefined) return false;
  const v = p.value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new CliUsageError(`${p.source} must be true or false; got "${p.value}"`);
}

function required(p: Picked | undefined, what: string, hint: string): string {
  if (p === undefined || p.value.trim() === '') throw new CliUsageError(`${what} is not set: ${hint}`);
  return p.value.trim();
}

/**
 * Resolves the settings. Throws CliUsageError naming the flag, variable or
 * config key that is wrong, and what to do.
 */
export function speakerSettings(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: { read?: (path: string) => string; inClusterNamespace?: () => string | undefined } = {},
): SpeakerSettings {
  let values: Record<string, string | undefined>;
  try {
    const parsed = parseArgs({
      args: [...args],
      options: {
        ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(SWITCHES.map((f) => [f, { type: 'boolean' as const }])),
      },
      allowPositionals: false,
    }).values;
    values = Object.fromEntries(
      Object.entries(parsed).map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : v]),
    );
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const pick = picker(values, env);
  const read = opts.read ?? ((path: string) => readFileSync(path, 'utf8'));

  const cfg = pick('config', 'MESHLB_CONFIG');
  const configFile = cfg?.value ?? DEFAULT_CONFIG_FILE;
  // Only a file named by the flag must exist: the ConfigMap is mounted optional,
  // and the manifests set MESHLB_CONFIG whether or not it exists.
  const doc = readConfigFile(configFile, cfg?.source === '--config', read);
  // Keys and types are the schema's (config/schema.ts): checked by readConfigFile.
  const section: FileSection = doc?.speaker ?? {};
  const file = doc === undefined ? undefined : configFile;
  /** Flag, else variable, else the config file. */
  const setting = (flag: string, variable: string, key: keyof FileSection): Picked | undefined =>
    pick(flag, variable) ?? fileValue(doc, configFile, 'speaker', key);

  /** The Kubernetes convention's variable (downward API) when neither flag nor MESHLB_ variable is set. */
  const orEnv = (p: Picked | undefined, variable: string): Picked | undefined => {
    const v = nonEmpty(env[variable]);
    return p ?? (v === undefined ? undefined : { value: v, source: variable });
  };

  const kc = pick('kubeconfig', 'MESHLB_KUBECONFIG');
  if (kc?.value === '') throw new CliUsageError(`${kc.source} needs a file name`);

  const nodeName = required(
    orEnv(pick('node-name', 'MESHLB_NODE_NAME'), 'NODE_NAME'),
    'the node name',
    'pass --node-name or set NODE_NAME from the downward API (fieldRef spec.nodeName)',
  );
  const podName = required(
    orEnv(pick('pod-name', 'MESHLB_POD_NAME'), 'POD_NAME'),
    'the Pod name',
    'pass --pod-name or set POD_NAME from the downward API (fieldRef metadata.name); the speaker publishes its peer ID on its Pod',
  );
  const meshAddress = required(
    orEnv(pick('mesh-address', 'MESHLB_MESH_ADDRESS'), 'POD_IP'),
    'the mesh address',
    'pass --mesh-address or set POD_IP from the downward API (fieldRef status.podIP; the node IP under hostNetwork)',
  );
  if (isIP(meshAddress) === 0)
    throw new CliUsageError(`the mesh address "${meshAddress}" is not an IP address`);

  const meshPort = portOf(setting('mesh-port', 'MESHLB_MESH_PORT', 'meshPort'), DEFAULT_MESH_PORT);
  const pulsePort = portOf(
    setting('pulse-port', 'MESHLB_PULSE_PORT', 'pulsePort'),
    DEFAULT_PULSE_PORT,
    '0 (no pulse)',
  );
  if (pulsePort === meshPort)
    throw new CliUsageError(`the pulse port and the mesh port must differ; both are ${meshPort}`);

  const profileP = setting('mesh-profile', 'MESHLB_MESH_PROFILE', 'meshProfile');
  const meshProfile = (profileP?.value ?? 'lan-fast') as ProfileName;
  if (!(meshProfile in PROFILES))
    throw new CliUsageError(
      `${profileP?.source ?? ''} must be one of ${Object.keys(PROFILES).join(', ')}; got "${meshProfile}"`,
    );
  let mesh: MeshConfig;
  let wire: WireConfig;
  const watch: WatchConfig = { ...WATCH_DEFAULTS, ...(section.watch as Partial<WatchConfig> | undefined) };
  try {
    mesh = validateMeshConfig({
      ...PROFILES[meshProfile],
      ...(section.mesh as Partial<MeshConfig> | undefined),
    });
    wire = validateWireConfig(section.wire as Partial<WireConfig> | undefined);
    validatePulseConfig(watch);
  } catch (err) {
    if (err instanceof MeshConfigError || err instanceof WireConfigError)
      throw new ConfigFileError(`${file ?? 'config'}: ${err.message}`);
    throw err;
  }

  const metrics = setting('metrics-addr', 'MESHLB_METRICS_ADDR', 'metricsAddr');
  const metricsAddr = listenAddrOf(metrics, DEFAULT_METRICS_ADDR);
  const healthAddr = listenAddrOf(
    setting('health-addr', 'MESHLB_HEALTH_ADDR', 'healthAddr'),
    DEFAULT_HEALTH_ADDR,
  );

  const state = setting('state-dir', 'MESHLB_STATE_DIR', 'stateDir');
  if (state?.value === '') throw new CliUsageError(`${state.source} needs a directory (or "off")`);
  const stateDir = state === undefined || state.value === 'off' ? undefined : state.value;

  const handoff = setting('handoff-timeout-ms', 'MESHLB_HANDOFF_TIMEOUT_MS', 'handoffTimeoutMs');
  const localWait = setting('local-traffic-wait-ms', 'MESHLB_LOCAL_TRAFFIC_WAIT_MS', 'localTrafficWaitMs');
  const rebalance = setting('rebalance-interval-ms', 'MESHLB_REBALANCE_INTERVAL_MS', 'rebalanceIntervalMs');
  return {
    kubeconfig: kc?.value,
    namespace: namespaceOf(
      pick('namespace', 'MESHLB_NAMESPACE'),
      env,
      opts.inClusterNamespace ?? readNamespaceFile,
    ),
    nodeName,
    podName,
    meshAddress,
    meshPort,
    pulsePort,
    meshKeyFile: pick('mesh-key-file', 'MESHLB_MESH_KEY_FILE')?.value ?? DEFAULT_MESH_KEY_FILE,
    meshProfile,
    mesh,
    watch,
    wire,
    interfaces: interfacesOf(pick('interfaces', 'MESHLB_INTERFACES'), section, file),
    waitForInterfaces: booleanOf(
      setting('wait-for-interfaces', 'MESHLB_WAIT_FOR_INTERFACES', 'waitForInterfaces'),
    ),
    metricsAddr,
    healthAddr,
    stateDir,
    logLevel: logLevelOf(setting('log-level', 'MESHLB_LOG_LEVEL', 'logLevel')),
    handoffTimeoutMs: handoff === undefined ? DEFAULT_HANDOFF_TIMEOUT_MS : millisOf(handoff),
    localTrafficWaitMs: localWait === undefined ? LOCAL_TRAFFIC_WAIT_MS : millisOf(localWait),
    balanceSlack: balanceSlackOf(setting('balance-slack', 'MESHLB_BALANCE_SLACK', 'balanceSlack')),
    rebalanceIntervalMs: rebalance === undefined ? REBALANCE_INTERVAL_MS : millisOf(rebalance, true),
    configFile: file,
  };
}

/** Thrown when the mesh key file is missing or not 32 bytes in hex. */
export class MeshKeyError extends Error {
  override name = 'MeshKeyError';
}

/**
 * The mesh key: 64 hex characters (32 bytes), as the Secret holds it
 * (`openssl rand -hex 32`); surrounding whitespace is ignored.
 */
export function readMeshKey(
  file: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Uint8Array {
  let text: string;
  try {
    text = read(file).trim();
  } catch (err) {
    throw new MeshKeyError(
      `cannot read the mesh key ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): create the Secret meshlb-mesh-key (docs/install.md) or pass --mesh-key-file`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new MeshKeyError(
      `the mesh key ${file} must be 64 hex characters (32 bytes: openssl rand -hex 32); it has ${text.length} characters`,
    );
  return new Uint8Array(Buffer.from(text, 'hex'));
}
