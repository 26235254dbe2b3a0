/**
 * The scenarios about steadiness rather than speed: 5% loss for minutes with
 * no false failover, the controller killed during Service churn with no
 * assignment moving, and a rival controller's patch war.
 */
import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { LAB_NAMESPACE, type ClusterLab } from '../testbed/lab/index.ts';
import { FOUGHT_LABEL } from './assignments.ts';
import { crashCheck, holder, oneAnswer, settle } from './checks.ts';
import { until } from './measure.ts';
import type { InvariantCheck } from './results.ts';
import type { Scenario } from './scenarios.ts';

/** Sum over `text` (Prometheus text format) of the samples of `name` whose labels contain `labels`. */
export function sampleSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

/**
 * Takeovers counted by every speaker's /metrics, each read until it answers
 * (a read lost to the loss once counted 0 and made the figure −1).
 */
async function takeovers(lab: ClusterLab): Promise<number> {
  const counts = await Promise.all(
    lab.nodes.map((h) =>
      until(
        async () => {
          const r = await lab.http.get(lab.speakerUrl(h.name, '/metrics')).catch(() => undefined);
          return r?.status === 200
            ? sampleSum(r.body, 'meshlb_failovers_total', 'cause="takeover"')
            : undefined;
        },
        10_000,
        100,
      ),
    ),
  );
  const missing = lab.nodes.filter((_, i) => counts[i] === undefined).map((h) => h.name);
  if (missing.length > 0)
    throw new Error(`no /metrics from ${missing.join(', ')} in 10 s: takeovers not counted`);
  return counts.reduce<number>((n, c) => n + (c ?? 0), 0);
}

const ingressOf = (svc: V1Service): string[] =>
  (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip]));

async function assignments(lab: ClusterLab): Promise<Map<string, string[]>> {
  const list = await lab.cp.kubeConfig
    .makeApiClient(CoreV1Api)
    .listNamespacedService({ namespace: LAB_NAMESPACE });
  return new Map(list.items.map((s) => [s.metadata?.name ?? '', ingressOf(s)]));
}

const lbService = (name: string): V1Service => ({
  metadata: { name },
  spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});

/**
 * Loss for opts.lossMs on every node's link, or on the announcer's alone (its
 * frames in both directions: ~36% of its round trips fail at 20%). Judged by
 * the takeovers every speaker counted meanwhile (none is a fault here) and one
 * MAC answering at the end.
 */
function lossScenario(id: string, title: string, fraction: number, where: 'every' | 'announcer'): Scenario {
  const percent = `${Math.round(fraction * 100)}%`;
  return {
    id,
    title,
    target: { figure: 'falseFailovers', max: 0, text: 'zero false failovers' },
    async trial(lab, ip, n, opts) {
      const before = await takeovers(lab);
      const victim = where === 'announcer' ? await holder(lab, ip) : undefined;
      const hosts = victim === undefined ? lab.nodes : lab.nodes.filter((h) => h.name === victim);
      for (const h of hosts) await lab.lan.dropFraction(h, fraction);
      await new Promise((r) => setTimeout(r, opts.lossMs)); // the fault's duration, not a wait for a state
      for (const h of hosts) await lab.lan.dropFraction(h, 0);
      const after = await takeovers(lab);
      const inv = await oneAnswer(lab, ip, []);
      inv.push(crashCheck(lab, []));
      await settle(lab, ip);
      const falseFailovers = after - before;
      return {
        trial: n,
        outageMs: null,
        figures: { falseFailovers, lossMinutes: opts.lossMs / 60_000 },
        ok: inv.every((i) => i.ok),
        invariants: inv,
        note: `${(opts.lossMs / 60_000).toFixed(1)} min at ${percent} loss${victim === undefined ? '' : ` on ${victim}`}`,
      };
    },
  };
}

export const CONTROL_SCENARIOS: readonly Scenario[] = [
  lossScenario('loss', '5% packet loss on every link', 0.05, 'every'),
  lossScenario('loss-one', "20% packet loss on the announcer node's link", 0.2, 'announcer'),
  {
    id: 'controller-kill',
    title: 'controller killed during Service churn',
    target: { figure: 'assignmentChanges', max: 0, text: 'zero assignment changes' },
    async trial(lab, ip, n) {
      const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
      const before = await assignments(lab);
      const state = { churning: true };
      let created = 0;
      const churn = (async () => {
        for (let i = 0; state.churning; i++) {
          const name = `churn-${n}-${i % 5}`;
          await core.deleteNamespacedService({ namespace: LAB_NAMESPACE, name }).catch(() => undefined);
          await core
            .createNamespacedService({ namespace: LAB_NAMESPACE, body: lbService(name) })
            .catch(() => undefined);
          created++;
        }
      })();
      await until(() => (created >= 5 ? true : undefined), 10_000, 20);
      await lab.killController();
      lab.startController();
      // The new leader assigns again: a churned Service created after the kill gets an IP.
      const mark = created;
      const resumed = await until(
        async () => {
          if (created < mark + 3) return undefined;
          const a = await assignments(lab);
          return [...a].some(([name, ips]) => name.startsWith(`churn-${n}-`) && ips.length > 0)
            ? true
            : undefined;
        },
        30_000,
        200,
      );
      state.churning = false;
      await churn;
      const after = await assignments(lab);
      let changes = 0;
      for (const [name, ips] of before) {
        if (name.startsWith('churn-')) continue;
        if (JSON.stringify(after.get(name)) !== JSON.stringify(ips)) changes++;
      }
      const all = [...after.values()].flat();
      const inv: InvariantCheck[] = [
        { name: 'the new controller leads and assigns', ok: resumed === true },
        {
          name: 'no IP assigned twice',
          ok: new Set(all).size === all.length,
          detail: `${all.length} addresses`,
        },
        ...(await oneAnswer(lab, ip, [])),
        crashCheck(lab, []),
      ];
      for (let i = 0; i < 5; i++)
        await core
          .deleteNamespacedService({ namespace: LAB_NAMESPACE, name: `churn-${n}-${i}` })
          .catch(() => undefined);
      await settle(lab, ip);
      return {
        trial: n,
        outageMs: null,
        figures: { assignmentChanges: changes },
        ok: inv.every((i) => i.ok),
        invariants: inv,
        note: `${created} Services created during the churn`,
      };
    },
  },
  {
    id: 'patch-war',
    title: "a rival controller fighting over a Service's status",
    target: { figure: 'writesPerMinute', max: 5, text: '≤ 5 meshlb writes to the fought Service per minute' },
    async trial(lab, ip, n, opts) {
      const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
      const name = `contested-${n}`;
      const body = lbService(name);
      body.metadata = { name, labels: { [FOUGHT_LABEL]: 'true' } }; // its changes are the rival's
      await core.createNamespacedService({ namespace: LAB_NAMESPACE, body });
      const read = (): Promise<V1Service> => core.readNamespacedService({ namespace: LAB_NAMESPACE, name });
      const assigned = await until(
        async () => (ingressOf(await read()).length > 0 ? true : undefined),
        20_000,
        100,
      );
      const metrics = async (): Promise<number> => {
        const r = await fetch(lab.controllerMetricsUrl).then(
          (x) => x.text(),
          () => '',
        );
        return sampleSum(r, 'meshlb_api_writes_total', 'resource="services/status"');
      };
      const before = await metrics();
      const end = Date.now() + opts.warMs;
      let rival = 0;
      for (let i = 0; Date.now() < end; i++) {
        const svc = await read();
        svc.status ??= {};
        svc.status.loadBalancer = { ingress: i % 2 === 0 ? [{ ip: '203.0.113.9' }] : [] };
        await core
          .replaceNamespacedServiceStatus({
            namespace: LAB_NAMESPACE,
            name,
            body: svc,
            fieldManager: 'rival',
          })
          .then(
            () => rival++,
            () => undefined,
          );
        await new Promise((r) => setTimeout(r, 250)); // the rival's own pace
      }
      const writes = (await metrics()) - before;
      await core.deleteNamespacedService({ namespace: LAB_NAMESPACE, name });
      const inv: InvariantCheck[] = [
        { name: 'the Service got an IP before the war', ok: assigned === true },
        {
          name: 'the rival kept writing',
          ok: rival >= (opts.warMs / 1000) * 2,
          detail: `${rival} rival writes`,
        },
        crashCheck(lab, []),
      ];
      const perMinute = (writes * 60_000) / opts.warMs;
      return {
        trial: n,
        outageMs: null,
        figures: { writesPerMinute: perMinute, meshlbWrites: writes, rivalWrites: rival },
        ok: inv.every((i) => i.ok),
        invariants: inv,
        note: `rival wrote ${rival} times, meshlb ${writes} in ${(opts.warMs / 1000).toFixed(0)} s`,
      };
    },
  },
];
