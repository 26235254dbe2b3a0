// meshlb as users run it: the image built by scripts/image, imported into real
// containerd on real kubelets (one per network-namespace node), scheduled by
// Kubernetes' own DaemonSet and Deployment controllers, installed from deploy/
// with kustomize and then with Helm as docs/install.md says. The speakers must
// answer ARP from inside their Pods, and a rolling restart of the DaemonSet
// must lose no ping of a client pinging every 10 ms.
import type { ExecutionContext } from 'ava';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  explainPods,
  installMeshlb,
  MESHLB_NAMESPACE,
  rolloutState,
  SPEAKER_DS,
  uninstallMeshlb,
  waitRolledOut,
} from '../../lab/testbed/kubelet/install.ts';
import { createPool, createServices } from '../../lab/testbed/lab/services.ts';
import { answeringNodes } from '../../lab/testbed/kubelet/scenarios.ts';
import { lostEchoes, pingEchoes } from '../../lab/testbed/netns/index.ts';
import { kubeletFixture, must } from '../helpers/kubelet.ts';
import { poll } from '../../lab/testbed/poll.ts';
import { MESHLB_IMAGE_REF, releaseImage } from '../../lab/testbed/kubelet/images.ts';
import { RELEASE_BEFORE_FORMAT_2 } from '../../lab/testbed/release.ts';

const { serial, cluster: c } = kubeletFixture('kubelet install', 'mlbkt');

async function speakerPods(): Promise<{ name: string; node: string; uid: string; image: string }[]> {
  const core = c().cp.kubeConfig.makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({
    namespace: MESHLB_NAMESPACE,
    labelSelector: 'app.kubernetes.io/component=speaker',
  });
  return pods.items.map((p) => ({
    name: p.metadata?.name ?? '',
    node: p.spec?.nodeName ?? '',
    uid: p.metadata?.uid ?? '',
    image: p.spec?.containers[0]?.image ?? '',
  }));
}

serial(
  'kustomize: the DaemonSet and the Deployment roll out on real kubelets and a speaker Pod answers ARP',
  async (t) => {
    await installMeshlb(c(), 'kustomize');
    const state = await waitRolledOut(c(), 240_000);
    t.is(state.speakersReady, 3);
    t.is(state.controllersAvailable, 2);
    const pods = await speakerPods();
    t.deepEqual(pods.map((p) => p.node).sort(), ['h1', 'h2', 'h3'], 'one speaker Pod per node');

    await createPool(c());
    const [svc] = await createServices(c(), ['web']);
    const ip = must(svc?.ips[0], 'the Service IP');
    const who = await poll(
      async () => {
        const w = await answeringNodes(c(), ip);
        return w.length === 1 ? w : undefined;
      },
      30_000,
      250,
    );
    t.truthy(who, `nobody answered ARP for ${ip}:\n${await explainPods(c())}`);
    const announcer = must(who?.[0], 'the announcer');
    t.true(['h1', 'h2', 'h3'].includes(announcer), `answered by ${announcer}, not a node's MAC`);
    // The only meshlb processes on the nodes are the Pods' containers: the speaker
    // that answered logged it from inside its container.
    const node = c().node(announcer);
    const pod = must(
      pods.find((p) => p.node === node.name),
      `the speaker Pod on ${node.name}`,
    );
    const log = node.containerLog(MESHLB_NAMESPACE, pod.name, 'speaker');
    t.regex(log, new RegExp(ip.replaceAll('.', '\\.')), 'the speaker container logged the IP it announces');
  },
);

serial(
  'kustomize: kubectl rollout restart ds/meshlb-speaker loses no ping (client pings every 10 ms)',
  async (t) => {
    const core = c().cp.kubeConfig.makeApiClient(CoreV1Api);
    const svc = await core.readNamespacedService({ namespace: 'lab', name: 'web' });
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
    const before = new Set((await speakerPods()).map((p) => p.uid));
    const ping = pingEchoes(c().lan, must(c().lan.client, 'client'), ip, 0.01);
    try {
      t.truthy(await poll(() => ping.list.length >= 20, 10_000, 20), 'pings answered before the restart');
      const r = await c().cp.kubectl(['-n', MESHLB_NAMESPACE, 'rollout', 'restart', `ds/${SPEAKER_DS}`]);
      t.is(r.code, 0, r.stderr);
      const replaced = await poll(
        async () => {
          const pods = await speakerPods();
          const state = await rolloutState(c());
          return pods.length === 3 && pods.every((p) => !before.has(p.uid)) && state?.speakersReady === 3;
        },
        240_000,
        500,
      );
      t.truthy(replaced, `the rollout did not finish:\n${await explainPods(c())}`);
      // A few more echoes after the last speaker is ready.
      const n = ping.list.length;
      await poll(() => ping.list.length >= n + 50, 5_000, 20);
    } finally {
      ping.stop();
    }
    const { lost, longestRun } = lostEchoes(ping.list, 1);
    t.log(`rollout restart: ${ping.list.length} echoes, ${lost} lost (longest run ${longestRun})`);
    t.is(lost, 0);
  },
);

serial(
  'kustomize: kubectl set image to the release before frame format 2 and back loses no ping (client pings every 10 ms)',
  async (t) => {
    // The earlier release's image, imported on every node under another tag (both carry meshlb:<version>).
    const previous = await releaseImage(RELEASE_BEFORE_FORMAT_2);
    const current = MESHLB_IMAGE_REF;
    const older = 'meshlb:previous-release';
    for (const node of c().nodes) {
      await node.importImage(previous.archive, { ref: previous.ref, as: older });
      await node.importImage(c().image);
    }
    const core = c().cp.kubeConfig.makeApiClient(CoreV1Api);
    const svc = await core.readNamespacedService({ namespace: 'lab', name: 'web' });
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
    const results: string[] = [];
    // Down to the earlier release, then up to this one: each a rolling update, node by node.
    for (const image of [older, current]) {
      const ping = pingEchoes(c().lan, must(c().lan.client, 'client'), ip, 0.01);
      try {
        t.truthy(await poll(() => ping.list.length >= 20, 10_000, 20), 'pings answered before the roll');
        const r = await c().cp.kubectl([
          '-n',
          MESHLB_NAMESPACE,
          'set',
          'image',
          `ds/${SPEAKER_DS}`,
          `speaker=${image}`,
        ]);
        t.is(r.code, 0, r.stderr);
        const rolled = await poll(
          async () => {
            const pods = await speakerPods();
            const state = await rolloutState(c());
            return pods.length === 3 && pods.every((p) => p.image === image) && state?.speakersReady === 3;
          },
          240_000,
          500,
        );
        t.truthy(rolled, `the roll to ${image} did not finish:\n${await explainPods(c())}`);
        const n = ping.list.length;
        await poll(() => ping.list.length >= n + 50, 5_000, 20);
      } finally {
        ping.stop();
      }
      const { lost, longestRun } = lostEchoes(ping.list, 1);
      results.push(`to ${image}: ${ping.list.length} echoes, ${lost} lost (longest run ${longestRun})`);
      t.is(lost, 0, `set image ${image}`);
    }
    t.log(`set image: ${results.join('; ')}`);
  },
);

/**
 * Patches the speaker DaemonSet into one whose new Pods cannot start, expects
 * the rollout to fail with the kubelet's words for the container's end
 * (termination reason and exit code, or the back-off it went into), rolls it
 * back (maxUnavailable 1: the other speakers kept running) and returns the
 * failure's report for the caller's own checks.
 */
async function failedRollout(t: ExecutionContext, patch: object[], timeoutMs: number): Promise<string> {
  const r = await c().cp.kubectl([
    '-n',
    MESHLB_NAMESPACE,
    'patch',
    'ds',
    SPEAKER_DS,
    '--type=json',
    '-p',
    JSON.stringify(patch),
  ]);
  t.is(r.code, 0, r.stderr);
  const err = await t.throwsAsync(waitRolledOut(c(), timeoutMs), { name: 'InstallError' });
  t.regex(err.message, /terminated Error \(exit 1\)|CrashLoopBackOff/);
  const undo = await c().cp.kubectl(['-n', MESHLB_NAMESPACE, 'rollout', 'undo', `ds/${SPEAKER_DS}`]);
  t.is(undo.code, 0, undo.stderr);
  t.is((await waitRolledOut(c(), 120_000)).speakersReady, 3);
  return err.message;
}

serial(
  "a speaker without CAP_NET_RAW fails the rollout with the kubelet's reason and the speaker's own error",
  async (t) => {
    const report = await failedRollout(
      t,
      [
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/securityContext/capabilities/add',
          value: [],
        },
      ],
      30_000,
    );
    t.log(report);
    // The speaker's own words, there thanks to FallbackToLogsOnError.
    t.regex(report, /PacketSocketPermissionError|needs CAP_NET_RAW/);
  },
);

serial(
  "a container that writes to its read-only root fails the rollout with EROFS in the kubelet's report",
  async (t) => {
    // A stand-in for an image that writes where readOnlyRootFilesystem forbids it.
    const report = await failedRollout(
      t,
      [
        {
          op: 'add',
          path: '/spec/template/spec/containers/0/command',
          value: ['/usr/local/bin/node', '-e', "require('fs').writeFileSync('/app/state', 'x')"],
        },
      ],
      20_000,
    );
    t.regex(report, /EROFS: read-only file system/);
  },
);

serial(
  'Helm: the chart installs the same workloads on real kubelets and a speaker answers ARP',
  async (t) => {
    await uninstallMeshlb(c(), 'kustomize');
    t.deepEqual(await speakerPods(), [], 'nothing left of the kustomize install');
    await installMeshlb(c(), 'helm', { helm: process.env.MESHLB_HELM_BIN ?? 'helm' });
    const state = await waitRolledOut(c(), 240_000);
    t.is(state.speakersReady, 3);
    await createPool(c());
    const [svc] = await createServices(c(), ['api']);
    const who = await poll(
      async () => {
        const w = await answeringNodes(c(), must(svc?.ips[0], 'the Service IP'));
        return w.length === 1 ? w : undefined;
      },
      30_000,
      250,
    );
    t.truthy(who, await explainPods(c()));
    const apps = c().cp.kubeConfig.makeApiClient(AppsV1Api);
    const ds = await apps.readNamespacedDaemonSet({ name: SPEAKER_DS, namespace: MESHLB_NAMESPACE });
    t.is(ds.metadata?.labels?.['app.kubernetes.io/managed-by'], 'Helm');
  },
);
