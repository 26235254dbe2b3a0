/**
 * meshlb as users run it, measured: the image from scripts/image on real
 * kubelets (lab/testbed/kubelet), installed with kustomize, three dual-stack
 * Services. Prints, as JSON:
 *   - idle cost per node, from /proc over a window after a warm-up: kubelet,
 *     containerd, the shims, and the speaker container (RSS and CPU);
 *   - the speaker's start in the image: container start to first log line,
 *     and to /readyz 200 (asked every 100 ms from the node);
 *   - each scenario of lab/testbed/kubelet/scenarios.ts, `--trials` times, as
 *     a client pinging every 10 ms saw it (lost echoes, longest gap) plus its
 *     own times;
 *   - with `--kube-proxy iptables|nftables`: a real kube-proxy on every node,
 *     backend Pods (kubelet/backends.ts) on nodes 2 and 4, a Cluster and a
 *     Local Service, and the scenarios as a client making a new TCP connection
 *     and a request every 10 ms saw them (failed requests, outage from the
 *     first failure to the next success), plus `backend-rollout` and
 *     `local-drain` on the Local Service.
 * Needs root.
 *
 *   sudo node bench/kubelet.ts [--nodes 5] [--trials 5] [--warmup-seconds 60] [--seconds 60]
 *                              [--kube-proxy iptables|nftables]
 *                              [--scenarios idle,delete-pod,kill-9,link-cut,drain,rollout-restart,
 *                                           kubelet-stopped,controller,backend-rollout,local-drain]
 */
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeletCluster } from '../lab/testbed/kubelet/cluster.ts';
import { installMeshlb, MESHLB_NAMESPACE, waitRolledOut } from '../lab/testbed/kubelet/install.ts';
import { BACKEND_PORT, createBackends, waitBackends } from '../lab/testbed/kubelet/backends.ts';
import { KUBE_PROXY_MODES, type KubeProxyMode } from '../lab/testbed/kubelet/node-files.ts';
import {
  cutAnnouncerLink,
  deleteAnnouncerPod,
  killAnnouncerSpeaker,
  rolloutRestartBackends,
  deleteLeadingController,
  drainAnnouncer,
  rolloutRestartSpeakers,
  stopAnnouncerKubelet,
  type ScenarioResult,
} from '../lab/testbed/kubelet/scenarios.ts';
import { createPool, createServices } from '../lab/testbed/lab/services.ts';
import { measureWindow } from './proc.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5' },
    trials: { type: 'string', default: '5' },
    'warmup-seconds': { type: 'string', default: '60' },
    seconds: { type: 'string', default: '60' },
    'kube-proxy': { type: 'string' },
    scenarios: {
      type: 'string',
      default:
        'idle,delete-pod,kill-9,link-cut,drain,rollout-restart,kubelet-stopped,controller,backend-rollout,local-drain',
    },
  },
});
const kubeProxy = values['kube-proxy'] as KubeProxyMode | undefined;
if (kubeProxy !== undefined && !KUBE_PROXY_MODES.includes(kubeProxy))
  throw new Error(`--kube-proxy: ${kubeProxy}? one of ${KUBE_PROXY_MODES.join(', ')}`);
const client = kubeProxy === undefined ? 'ping' : 'tcp';
const wanted = new Set(values.scenarios.split(','));
const trials = Number(values.trials);
const say = (line: string): void => {
  console.error(`bench-kubelet: ${line}`);
};

const c = await KubeletCluster.start({
  nodes: Number(values.nodes),
  prefix: 'mlbkb',
  onProgress: say,
  ...(kubeProxy === undefined ? {} : { kubeProxy }),
});
const out: Record<string, unknown> = {
  benchmark: 'kubelet',
  nodes: c.nodes.length,
  kube_proxy: kubeProxy ?? 'none (Service IPs accepted on lo)',
  client,
};
try {
  await installMeshlb(c, 'kustomize');
  await waitRolledOut(c, 300_000);
  await createPool(c);
  const ECHO = 'echo';
  const backed = { selector: { app: ECHO }, targetPort: BACKEND_PORT, acceptVips: false };
  if (kubeProxy !== undefined)
    await createBackends(
      c,
      ECHO,
      [c.nodes[1], c.nodes[3]].map((n) => n?.name ?? ''),
    );
  const services =
    kubeProxy === undefined
      ? await createServices(c, ['web', 'api', 'db'])
      : [
          ...(await createServices(c, ['web'], 60_000, backed)),
          ...(await createServices(c, ['local'], 60_000, { ...backed, externalTrafficPolicy: 'Local' })),
        ];
  const ip = services[0]?.ips[0] ?? '';
  const localIp = services.find((s) => s.name === 'local')?.ips[0] ?? '';
  say(`installed; ${services.map((s) => `${s.name} ${s.ips.join(' ')}`).join(', ')}`);

  if (wanted.has('idle')) {
    say(`idle: ${values['warmup-seconds']} s warm-up, then ${values.seconds} s measured`);
    const {
      secs,
      after: b,
      cpu,
    } = await measureWindow(Number(values['warmup-seconds']), Number(values.seconds));
    const of = (match: (cmd: string) => boolean): { cpu: number[]; rssMib: number[] } => {
      const pids = [...b].filter(([, p]) => match(p.cmd)).map(([pid]) => pid);
      return {
        cpu: pids.map(cpu),
        rssMib: pids.map((pid) => (b.get(pid)?.rssBytes ?? 0) / 2 ** 20),
      };
    };
    const speakers = of((cmd) => cmd.includes('/app/src/cli/main.js speaker'));
    const controllers = of((cmd) => cmd.includes('/app/src/cli/main.js controller'));
    const kubelets = of((cmd) => cmd.includes('/kubelet --config='));
    const containerds = of((cmd) => cmd.startsWith('/usr/bin/containerd --config'));
    const shims = of((cmd) => cmd.includes('containerd-shim-runc-v2'));
    const perNode = (x: { cpu: number[]; rssMib: number[] }): object => ({
      cpu_percent_of_a_core: summarize(x.cpu, 2),
      rss_mib: summarize(x.rssMib),
    });
    out.idle = {
      seconds: Math.round(secs),
      speaker: perNode(speakers),
      controller: perNode(controllers),
      kubelet: perNode(kubelets),
      containerd: perNode(containerds),
      shims_per_node: {
        count: shims.cpu.length / c.nodes.length,
        rss_mib: Math.round(shims.rssMib.reduce((s, x) => s + x, 0) / c.nodes.length),
        cpu_percent: Math.round((shims.cpu.reduce((s, x) => s + x, 0) / c.nodes.length) * 100) / 100,
      },
    };
    say(JSON.stringify(out.idle));
  }

  // The speaker's start in the image: the container's startedAt to its first
  // log line, and to its Ready condition (the kubelet's probe: period 5 s, so
  // that figure is coarse; the log line is not).
  {
    const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace: MESHLB_NAMESPACE,
      labelSelector: 'app.kubernetes.io/component=speaker',
    });
    const firstLog: number[] = [];
    for (const p of pods.items) {
      const started = Date.parse(String(p.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? ''));
      const node = c.node(p.spec?.nodeName ?? '');
      const log = node.containerLog(MESHLB_NAMESPACE, p.metadata?.name ?? '', 'speaker');
      const first = /^(\S+) /.exec(log)?.[1];
      if (first !== undefined && Number.isFinite(started)) firstLog.push(Date.parse(first) - started);
    }
    out.start = { container_start_to_first_log_line_ms: summarize(firstLog, 0) };
  }

  const runs: Record<string, ScenarioResult[]> = {};
  const scenario = async (name: string, fn: () => Promise<ScenarioResult>): Promise<void> => {
    if (!wanted.has(name)) return;
    runs[name] = [];
    for (let i = 0; i < trials; i++) {
      const r = await fn();
      say(`${name} ${i + 1}/${trials}: ${JSON.stringify(r)}`);
      runs[name].push(r);
      // A drain evicted a backend; it returns once its node is uncordoned.
      if (kubeProxy !== undefined) await waitBackends(c, ECHO, 180_000);
    }
  };
  await scenario('delete-pod', () => deleteAnnouncerPod(c, ip, client));
  await scenario('kill-9', () => killAnnouncerSpeaker(c, ip, client));
  await scenario('link-cut', () => cutAnnouncerLink(c, ip, client));
  await scenario('drain', () => drainAnnouncer(c, ip, client));
  await scenario('rollout-restart', () => rolloutRestartSpeakers(c, ip, client));
  await scenario('kubelet-stopped', () => stopAnnouncerKubelet(c, ip, 8_000, client));
  if (kubeProxy !== undefined) {
    await scenario('backend-rollout', () => rolloutRestartBackends(c, localIp, ECHO));
    await scenario('local-drain', () => drainAnnouncer(c, localIp, 'tcp'));
  }
  out.scenarios = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => {
      const keys = [...new Set(rs.flatMap((r) => Object.keys(r.times)))];
      return [
        name,
        {
          trials: rs.length,
          [client === 'ping' ? 'lost_pings' : 'failed_requests']: rs.map((r) => r.lost),
          ...(client === 'tcp'
            ? {
                outage_ms: summarize(
                  rs.map((r) => r.outageMs),
                  0,
                ),
                failures_by_reason: Object.fromEntries(
                  [...new Set(rs.flatMap((r) => r.failures.map((f) => f.why)))].map((why) => [
                    why,
                    rs.reduce((n, r) => n + r.failures.filter((f) => f.why === why).length, 0),
                  ]),
                ),
                moves: rs.map((r) => r.moves.length),
              }
            : {}),
          longest_gap_ms: summarize(
            rs.map((r) => r.longestGapMs),
            0,
          ),
          moved: rs.filter((r) => r.after !== r.victim).length,
          ...Object.fromEntries(
            keys.map((k) => [
              k,
              summarize(
                rs.map((r) => r.times[k] ?? Number.NaN),
                0,
              ),
            ]),
          ),
        },
      ];
    }),
  );
  if (wanted.has('controller')) {
    const rs = [];
    for (let i = 0; i < trials; i++) {
      const r = await deleteLeadingController(c);
      say(`controller ${i + 1}/${trials}: ${JSON.stringify(r)}`);
      rs.push(r);
    }
    out.controller = {
      trials: rs.length,
      takeover_ms: summarize(
        rs.map((r) => r.takeoverMs),
        0,
      ),
      changed_assignments: rs.map((r) => r.changedAssignments),
    };
  }
  console.log(JSON.stringify(out, null, 2));
} finally {
  await c.stop();
}
