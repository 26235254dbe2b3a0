import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import process from 'node:process';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { systemClock } from '../clock/index.ts';
import { DEFAULT_CONFIG_FILE, fileValue, readConfigFile } from '../config/index.ts';
import { Controller } from '../controller/index.ts';
import { LeaderConfigError, LEADER_DEFAULTS, type LeaderConfig } from '../kube/leader.ts';
import {
  createRegistry,
  EndpointServer,
  registerControllerMetrics,
  type Readiness,
} from '../metrics/index.ts';
import type { Command } from './command.ts';
import { CliUsageError } from './errors.ts';
import {
  loadKubeClient,
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

const HELP = `usage: meshlb controller [--kubeconfig PATH] [--namespace NS] [--identity ID]
                         [--lb-class CLASS] [--log-level LEVEL] [--metrics-addr ADDR]
                         [--config FILE]

Runs the controller: assigns IPs from IPPools to LoadBalancer Services and
writes their status.loadBalancer (it never decides who announces: the speakers
do). Run two or more; one leads through the Lease "meshlb-controller" in its
namespace, the others stand by. SIGTERM or SIGINT stops it: a leader releases
the Lease, so a standby takes over at once, and the process exits 0.
Logs are JSON lines (pino) on stdout; nothing else is printed.

flags (each also from an environment variable; the flag wins):
  --kubeconfig PATH   MESHLB_KUBECONFIG; else KUBECONFIG, else in-cluster
                      (KUBERNETES_SERVICE_HOST set), else ~/.kube/config
  --namespace NS      the Lease's namespace. MESHLB_NAMESPACE; else POD_NAMESPACE,
                      else the in-cluster ServiceAccount's, else meshlb-system
  --identity ID       the Lease holder and Events' reportingInstance, unique per
                      replica. MESHLB_IDENTITY; else POD_NAME, else the host name
  --lb-class CLASS    serve Services of this spec.loadBalancerClass only.
                      MESHLB_LB_CLASS; default: Services without a class
  --log-level LEVEL   trace, debug, info, warn, error, fatal or silent.
                      MESHLB_LOG_LEVEL; default info
  --metrics-addr ADDR
                      serve /metrics, /healthz, /readyz and /debug/controller
                      on HOST:PORT, :PORT (every interface) or [IPV6]:PORT, or
                      off. MESHLB_METRICS_ADDR; default :7473 (docs/metrics.md)
  --config FILE       the config file's controller: section (the ConfigMap
                      meshlb-config; flags and variables win). MESHLB_CONFIG;
                      default /etc/meshlb/config/config.yaml if it exists

Leader-election timings (client-go's defaults, 15 s / 10 s / 2 s): the config
file's controller.leaseDurationMs, renewDeadlineMs, retryPeriodMs (docs/controller.md). RBAC: deploy/rbac/controller.yaml.`;

/** The controller's metrics port (in its Pod's network; the speaker's is 7475 on the node). */
const DEFAULT_METRICS_ADDR = ':7473';

/** The controller's settings, resolved from flags, environment and defaults. */
export interface ControllerSettings {
  /** A kubeconfig file; undefined: KUBECONFIG, in-cluster or ~/.kube/config. */
  kubeconfig: string | undefined;
  namespace: string;
  identity: string;
  loadBalancerClass: string | undefined;
  logLevel: LogLevel;
  leader: LeaderConfig;
  /** Where to serve /metrics, /healthz, /readyz, /debug; undefined: off. */
  metricsAddr: string | undefined;
  /** The config file read, if any. */
  configFile: string | undefined;
}

/** The hidden leader-election flags: flag name, environment variable, LeaderConfig key (also the config file's key). */
const TIMINGS = [
  ['lease-duration-ms', 'MESHLB_LEASE_DURATION_MS', 'leaseDurationMs'],
  ['renew-deadline-ms', 'MESHLB_RENEW_DEADLINE_MS', 'renewDeadlineMs'],
  ['retry-period-ms', 'MESHLB_RETRY_PERIOD_MS', 'retryPeriodMs'],
] as const;

/**
 * Resolves the settings: a flag, else its MESHLB_ variable, else the
 * Kubernetes convention (POD_NAMESPACE, POD_NAME, …), else the default.
 * Throws CliUsageError naming the flag or variable that is wrong.
 */
export function controllerSettings(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  inClusterNamespace: () => string | undefined = readNamespaceFile,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): ControllerSettings {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        identity: { type: 'string' },
        'lb-class': { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-addr': { type: 'string' },
        config: { type: 'string' },
        ...Object.fromEntries(TIMINGS.map(([flag]) => [flag, { type: 'string' as const }])),
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const pick = picker(values, env);
  const cfg = pick('config', 'MESHLB_CONFIG');
  const configFile = cfg?.value ?? DEFAULT_CONFIG_FILE;
  const doc = readConfigFile(configFile, cfg?.source === '--config', read);
  /** Flag, else variable, else the config file's controller section. */
  const setting = (flag: string, variable: string, key: string): Picked | undefined =>
    pick(flag, variable) ?? fileValue(doc, configFile, 'controller', key);

  const kc = pick('kubeconfig', 'MESHLB_KUBECONFIG');
  if (kc?.value === '') throw new CliUsageError(`${kc.source} needs a file name`);

  const namespace = namespaceOf(pick('namespace', 'MESHLB_NAMESPACE'), env, inClusterNamespace);

  const id = pick('identity', 'MESHLB_IDENTITY');
  const identity = id?.value ?? nonEmpty(env.POD_NAME) ?? hostname();
  if (identity === '' || /\s/.test(identity))
    throw new CliUsageError(
      `${id?.source ?? 'the identity'}: "${identity}" must be non-empty, without spaces`,
    );

  const cls = setting('lb-class', 'MESHLB_LB_CLASS', 'loadBalancerClass');
  if (cls !== undefined && (cls.value === '' || /\s/.test(cls.value)))
    throw new CliUsageError(`${cls.source}: "${cls.value}" is not a loadBalancerClass`);

  const logLevel = logLevelOf(setting('log-level', 'MESHLB_LOG_LEVEL', 'logLevel'));
  const metricsAddr = listenAddrOf(
    setting('metrics-addr', 'MESHLB_METRICS_ADDR', 'metricsAddr'),
    DEFAULT_METRICS_ADDR,
  );

  const leader: LeaderConfig = { ...LEADER_DEFAULTS };
  for (const [flag, variable, key] of TIMINGS) {
    const t = setting(flag, variable, key);
    if (t !== undefined) leader[key] = millisOf(t);
  }
  if (!(leader.retryPeriodMs < leader.renewDeadlineMs && leader.renewDeadlineMs < leader.leaseDurationMs))
    throw new CliUsageError(
      `leader election needs retry period < renew deadline < lease duration; got ${leader.retryPeriodMs} / ${leader.renewDeadlineMs} / ${leader.leaseDurationMs} ms`,
    );

  return {
    kubeconfig: kc?.value,
    namespace,
    identity,
    loadBalancerClass: cls?.value,
    logLevel,
    leader,
    metricsAddr,
    configFile: doc === undefined ? undefined : configFile,
  };
}

/**
 * Ready while standing by (nothing to serve until leading) or leading with
 * the caches synced and the allocation table restored (Controller.ready).
 */
export function controllerReadiness(controller: Pick<Controller, 'leading' | 'ready'>): Readiness {
  if (!controller.leading || controller.ready) return { ready: true, reasons: [] };
  return {
    ready: false,
    reasons: ['leading, but the caches are not synced (allocation table not restored yet)'],
  };
}

/**
 * Starts the metrics endpoints. A port that cannot be bound is logged, not
 * fatal: assigning IPs matters more than being scraped (and a readiness probe
 * on that port shows the problem).
 */
async function startEndpoints(
  addr: string,
  controller: Controller,
  identity: string,
  log: pino.Logger,
): Promise<EndpointServer | undefined> {
  const registry = createRegistry('controller');
  registerControllerMetrics(registry, controller);
  const server = new EndpointServer({
    registry,
    log,
    ready: () => controllerReadiness(controller),
    debug: {
      controller: () => {
        const { writes, ...stats } = controller.stats();
        return {
          identity,
          leading: controller.leading,
          ready: controller.ready,
          pools: controller.pools(),
          stats: { ...stats, servicesWritten: writes.size },
        };
      },
    },
  });
  try {
    const bound = await server.listen(addr);
    log.info({ address: bound.host, port: bound.port }, 'metrics endpoint listening');
    return server;
  } catch (err) {
    log.error({ err, addr }, 'metrics endpoint not started');
    return undefined;
  }
}

async function runController(args: string[]): Promise<number> {
  const settings = controllerSettings(args, process.env);
  const [kube, source] = loadKubeClient(settings.kubeconfig, process.env);
  const log = pino({ level: settings.logLevel, base: { pid: process.pid, identity: settings.identity } });

  let controller: Controller;
  try {
    controller = new Controller({
      kube,
      clock: systemClock,
      identity: settings.identity,
      namespace: settings.namespace,
      loadBalancerClass: settings.loadBalancerClass,
      leader: settings.leader,
      log,
    });
  } catch (err) {
    if (err instanceof LeaderConfigError) throw new CliUsageError(err.message);
    throw err;
  }

  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await controller.start();
  const endpoints =
    settings.metricsAddr === undefined
      ? undefined
      : await startEndpoints(settings.metricsAddr, controller, settings.identity, log);
  log.info(
    {
      server: kube.target.server,
      kubeconfig: source,
      namespace: settings.namespace,
      loadBalancerClass: settings.loadBalancerClass ?? null,
      leader: settings.leader,
      metricsAddr: settings.metricsAddr ?? 'off',
    },
    'controller started',
  );
  const signal = await signalled;
  log.info({ signal, leading: controller.leading }, 'stopping');
  await controller.stop(); // a leader releases the Lease: the standby takes over at once
  await endpoints?.close();
  log.info('stopped');
  // Idle keep-alive connections of the API client must not hold the exit up.
  setTimeout(() => process.exit(), 2_000).unref();
  return 0;
}

export const controller: Command = {
  name: 'controller',
  summary: 'run the controller: IPs from IPPools to LoadBalancer Services (one leader)',
  help: HELP,
  run: runController,
};
