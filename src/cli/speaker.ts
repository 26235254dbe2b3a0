import { join } from 'node:path';
import process from 'node:process';
import pino from 'pino';
import { systemClock } from '../clock/index.ts';
import { InterfaceNotFoundError, interfaceInfo } from '../arp/index.ts';
import { loadBound } from '../election/index.ts';
import {
  createRegistry,
  Endpoints,
  registerAnnouncementMetrics,
  registerPlacementMetrics,
  registerMeshMetrics,
  registerViewMetrics,
  registerWireMetrics,
  SpeakerMetrics,
} from '../metrics/index.ts';
import {
  autoInterfaces,
  loadPeerKey,
  PEER_KEY_FILE,
  readMeshKey,
  Speaker,
  speakerSettings,
} from '../speaker/index.ts';
import type { Command } from './command.ts';
import { loadKubeClient } from '../config/index.ts';

const HELP = `usage: meshlb speaker [flags]

Runs a speaker (one per node, a DaemonSet): joins the mesh of speakers,
watches the cluster, elects one node per service IP and answers ARP/NDP for
the IPs this node wins. Needs CAP_NET_RAW (only that). SIGTERM or SIGINT hands
this node's IPs over to their next nodes before exiting (make-before-break).
Logs are JSON lines (pino) on stdout.

flags (each also from an environment variable, else from the "speaker:"
section of the config file; the flag wins). docs/configuration.md has every
setting with its default and the reason for it.
  --node-name NAME         MESHLB_NODE_NAME; else NODE_NAME (downward API spec.nodeName). Required
  --pod-name NAME          MESHLB_POD_NAME; else POD_NAME (metadata.name). Required: the
                           speaker publishes its peer ID on its own Pod
  --mesh-address IP        MESHLB_MESH_ADDRESS; else POD_IP (status.podIP: the node IP
                           under hostNetwork). Required
  --mesh-port PORT         MESHLB_MESH_PORT, speaker.meshPort; default 7947 (TCP and UDP)
  --pulse-port PORT        MESHLB_PULSE_PORT, speaker.pulsePort; default 7948 (UDP): the
                           announcers' heartbeats to their heirs; 0: none (slower failover)
  --mesh-key-file PATH     MESHLB_MESH_KEY_FILE; default /etc/meshlb/mesh-key/key
                           (64 hex characters: the Secret meshlb-mesh-key)
  --mesh-profile NAME      MESHLB_MESH_PROFILE, speaker.meshProfile: lan-fast (default),
                           lan-conservative or wan
  --interfaces LIST        MESHLB_INTERFACES, speaker.interfaces: comma-separated names,
                           or auto (default: every interface with an address except
                           loopback and container/CNI/tunnel devices)
  --wait-for-interfaces    MESHLB_WAIT_FOR_INTERFACES, speaker.waitForInterfaces: an
                           interface named in --interfaces that does not exist yet is
                           waited for; without it the speaker stops with an error
  --metrics-addr ADDR      MESHLB_METRICS_ADDR, speaker.metricsAddr: /metrics; default :7475
                           (every interface); "off" disables
  --health-addr ADDR       MESHLB_HEALTH_ADDR, speaker.healthAddr: /healthz, /readyz,
                           /debug/mesh, /debug/summary; default 127.0.0.1:7474 (loopback
                           only); the same as --metrics-addr: one server; "off" disables
  --state-dir DIR          MESHLB_STATE_DIR, speaker.stateDir: the speaker's directory on the
                           node, for its peer key (kept across restarts, 0600); default
                           off: a new identity at every start. The DaemonSet: /var/lib/meshlb/<node>
  --handoff-timeout-ms MS  MESHLB_HANDOFF_TIMEOUT_MS, speaker.handoffTimeoutMs; default 1000
  --local-traffic-wait-ms MS
                           MESHLB_LOCAL_TRAFFIC_WAIT_MS, speaker.localTrafficWaitMs: before
                           taking the IP of an externalTrafficPolicy: Local Service, wait
                           at most this long for this node's kube-proxy to deliver it
                           (its healthCheckNodePort answers 200); default 3000; 0: never ask
  --balance-slack E        MESHLB_BALANCE_SLACK, speaker.balanceSlack: no node announces more
                           than (1 + E) x its even share of the addresses while another may
                           take one; default 0.25; off: sticky rendezvous alone. The same on
                           every speaker
  --rebalance-interval-ms MS
                           MESHLB_REBALANCE_INTERVAL_MS, speaker.rebalanceIntervalMs: at most
                           one rebalancing move onto this node per MS; default 250
  --config PATH            MESHLB_CONFIG; default /etc/meshlb/config/config.yaml (optional)
  --namespace NS           MESHLB_NAMESPACE; else POD_NAMESPACE, else the ServiceAccount's,
                           else meshlb-system
  --kubeconfig PATH        MESHLB_KUBECONFIG; else KUBECONFIG, else in-cluster, else
                           ~/.kube/config
  --log-level LEVEL        MESHLB_LOG_LEVEL, speaker.logLevel: trace, debug, info (default),
                           warn, error, fatal, silent

The config file also takes speaker.mesh, speaker.watch and speaker.wire: the
mesh, close-watch and ARP/NDP timers. RBAC: deploy/rbac/speaker.yaml.`;

/**
 * Every named interface exists now, else InterfaceNotFoundError naming it and
 * the way out (a typo would leave a speaker answering on nothing).
 */
function requireInterfaces(names: readonly string[]): void {
  for (const name of names) {
    try {
      interfaceInfo(name);
    } catch (err) {
      if (!(err instanceof InterfaceNotFoundError)) throw err;
      throw new InterfaceNotFoundError(
        name,
        `interface ${name} (--interfaces) does not exist on this node: fix the name, or pass --wait-for-interfaces to wait for it to appear`,
      );
    }
  }
}

async function runSpeaker(args: string[]): Promise<number> {
  const settings = speakerSettings(args, process.env);
  const [kube, source] = loadKubeClient(settings.kubeconfig, process.env);
  const log = pino({ level: settings.logLevel, base: { pid: process.pid, node: settings.nodeName } });
  const networkKey = readMeshKey(settings.meshKeyFile);
  const interfaces = settings.interfaces === 'auto' ? autoInterfaces() : settings.interfaces;
  if (interfaces.length === 0)
    log.warn('no interface to answer on: set --interfaces (auto found none with an address)');
  if (settings.interfaces !== 'auto' && !settings.waitForInterfaces) requireInterfaces(interfaces);

  const peerKey = await loadPeerKey(
    settings.stateDir === undefined ? undefined : join(settings.stateDir, PEER_KEY_FILE),
    log,
  );
  const registry = createRegistry('speaker');
  const speaker = new Speaker({
    kube,
    clock: systemClock,
    log,
    nodeName: settings.nodeName,
    podName: settings.podName,
    namespace: settings.namespace,
    meshAddress: settings.meshAddress,
    meshPort: settings.meshPort,
    pulsePort: settings.pulsePort,
    networkKey,
    privateKey: peerKey.key,
    ...(settings.stateDir === undefined ? {} : { stateDir: settings.stateDir }),
    mesh: settings.mesh,
    watch: settings.watch,
    wire: settings.wire,
    interfaces,
    handoffTimeoutMs: settings.handoffTimeoutMs,
    localTrafficWaitMs: settings.localTrafficWaitMs,
    balanceSlack: settings.balanceSlack,
    rebalanceIntervalMs: settings.rebalanceIntervalMs,
    observer: new SpeakerMetrics(registry),
  });
  // The endpoints listen first: a port in use fails before anything else is
  // opened, and /readyz says "starting" while the speaker starts.
  const server = await Endpoints.listen({
    log,
    metricsAddr: settings.metricsAddr,
    healthAddr: settings.healthAddr,
    registry,
    ready: () => {
      const reasons = speaker.notReady();
      return { ready: reasons.length === 0, reasons };
    },
    debug: { mesh: () => speaker.debug(), summary: () => speaker.summary() },
  });
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  try {
    await speaker.start(); // closes what it opened if it fails
  } catch (err) {
    await server.close();
    exitSoon();
    throw err;
  }
  const { membership, fastWatch, transport, pulses } = speaker;
  if (membership !== undefined)
    registerMeshMetrics(registry, {
      membership,
      ...(fastWatch === undefined ? {} : { watch: fastWatch }),
      ...(transport === undefined ? {} : { transport }),
      ...(pulses === undefined ? {} : { pulses }),
    });
  registerWireMetrics(registry, speaker.wire);
  registerViewMetrics(registry, speaker.view);
  registerAnnouncementMetrics(registry, speaker.writer);
  registerPlacementMetrics(registry, {
    claims: speaker.claims,
    alive: () => (speaker.membership?.members() ?? []).filter((m) => m.state === 'alive').map((m) => m.node),
    bound: () => {
      const world = speaker.lastDecisions?.world;
      return world === undefined ? undefined : loadBound(world);
    },
  });
  log.info(
    {
      server: kube.target.server,
      kubeconfig: source,
      namespace: settings.namespace,
      meshProfile: settings.meshProfile,
      config: settings.configFile ?? null,
      identity: peerKey.source,
      stateDir: settings.stateDir ?? null,
    },
    'speaker running',
  );
  const signal = await signalled;
  log.info({ signal, announcing: [...speaker.held.keys()] }, 'stopping: handing over');
  await speaker.stop({ handoff: true });
  await server.close();
  log.info('stopped');
  exitSoon();
  return 0;
}

/** Idle keep-alive connections of the API client must not hold the exit (process.exitCode) up. */
function exitSoon(): void {
  setTimeout(() => process.exit(), 2_000).unref();
}

export const speaker: Command = {
  name: 'speaker',
  summary: 'run a speaker: mesh, election and ARP/NDP on this node (a DaemonSet)',
  help: HELP,
  run: runSpeaker,
};
