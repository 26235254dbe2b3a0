// The speaker binding policy (deploy/rbac/speaker-binding.yaml) against a real
// API server: speaker A's token, bound to A's Pod as a kubelet projects it,
// may publish A's identity and cannot touch B's binding; a speaker token bound
// to no Pod changes no Pod; an administrator is not affected.
import anyTest, { type TestFn } from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeApiError, KubeClient, objectPath } from '../../src/kube/client/index.ts';
import { PEER_ID_ANNOTATION } from '../../src/kube/world/constants.ts';
import { setPodCondition } from '../../src/kube/world/index.ts';
import { KERNEL_ANSWERS_CONDITION } from '../../src/speaker/kernel-answers.ts';
import { startControlPlane, type ControlPlane } from '../../lab/testbed/controlplane/index.ts';
import {
  createSpeakerPod,
  SPEAKER_NAMESPACE,
  SPEAKER_SERVICE_ACCOUNT,
} from '../../lab/testbed/speakers/index.ts';
import { waitFor } from '../helpers/wait.ts';

const RBAC = ['controller.yaml', 'speaker.yaml', 'speaker-binding.yaml'].map((f) =>
  fileURLToPath(new URL(`../../deploy/rbac/${f}`, import.meta.url)),
);

interface Ctx {
  cp: ControlPlane;
}
const test = anyTest as TestFn<Ctx>;

test.before(async (t) => {
  const cp = await startControlPlane();
  t.context.cp = cp;
  for (const file of RBAC) {
    const r = await cp.kubectl(['apply', '--server-side', '-f', file]);
    if (r.code !== 0) throw new Error(`kubectl apply ${file}: ${r.stderr}`);
  }
  for (const node of ['a', 'b']) await createSpeakerPod(cp.kubeConfig, node);
});

test.after.always(async (t) => {
  await (t.context as Partial<Ctx>).cp?.stop();
});

/** meshlb's own client with a token of `serviceAccount`, bound to the speaker Pod of `node` if given. */
async function clientAs(t: { context: Ctx }, serviceAccount: string, node?: string): Promise<KubeClient> {
  const { cp } = t.context;
  let pod: { name: string; uid: string } | undefined;
  if (node !== undefined) {
    const name = `meshlb-speaker-${node}`;
    const p = await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedPod({ namespace: SPEAKER_NAMESPACE, name });
    pod = { name, uid: p.metadata?.uid ?? '' };
  }
  const token = await cp.tokenFor(SPEAKER_NAMESPACE, serviceAccount, pod);
  return new KubeClient({ server: cp.server, ca: readFileSync(cp.pki.caCert), token });
}

/** Publishes `peerId` on the speaker Pod of `node` as the speaker does (a merge patch of its annotations). */
const publish = (kube: KubeClient, node: string, peerId: string): Promise<unknown> =>
  kube.patch(objectPath('', 'v1', 'pods', SPEAKER_NAMESPACE, `meshlb-speaker-${node}`), {
    metadata: { annotations: { [PEER_ID_ANNOTATION]: peerId } },
  });

const peerIdOf = async (t: { context: Ctx }, node: string): Promise<string | undefined> =>
  (
    await t.context.cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedPod({ namespace: SPEAKER_NAMESPACE, name: `meshlb-speaker-${node}` })
  ).metadata?.annotations?.[PEER_ID_ANNOTATION];

async function refusal(p: Promise<unknown>): Promise<KubeApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof KubeApiError)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err;
}

test.serial('speaker A publishes its own identity, and cannot rewrite speaker B’s', async (t) => {
  const a = await clientAs(t, SPEAKER_SERVICE_ACCOUNT, 'a');
  const b = await clientAs(t, SPEAKER_SERVICE_ACCOUNT, 'b');
  // The policy is enforced once the API server has loaded it: until then A's write to B would pass.
  await waitFor(
    'the policy in force',
    async () =>
      await publish(a, 'b', 'probe').then(
        () => false,
        () => true,
      ),
    20_000,
    200,
  );
  await publish(b, 'b', 'peer-of-b');
  await publish(a, 'a', 'peer-of-a');
  const err = await refusal(publish(a, 'b', 'impostor'));
  t.is(err.code, 403);
  t.regex(
    err.message,
    /a meshlb speaker may change only its own Pod: this token is bound to Pod meshlb-speaker-a, not to meshlb-speaker-b/,
  );
  t.is(await peerIdOf(t, 'a'), 'peer-of-a');
  t.is(await peerIdOf(t, 'b'), 'peer-of-b', 'B’s binding is untouched');
});

test.serial('a speaker token bound to no Pod changes no Pod; an administrator is not affected', async (t) => {
  const loose = await clientAs(t, SPEAKER_SERVICE_ACCOUNT);
  const err = await refusal(publish(loose, 'a', 'loose'));
  t.is(err.code, 403);
  t.regex(err.message, /bound to no Pod/);
  t.is(await peerIdOf(t, 'a'), 'peer-of-a');
  // An administrator (not a speaker) still may.
  await publish(t.context.cp.kube, 'a', 'set-by-admin');
  t.is(await peerIdOf(t, 'a'), 'set-by-admin');
});

test.serial('speaker A sets the condition on its own Pod, and cannot on speaker B’s', async (t) => {
  const a = await clientAs(t, SPEAKER_SERVICE_ACCOUNT, 'a');
  const condition = {
    type: KERNEL_ANSWERS_CONDITION,
    status: 'False' as const,
    reason: 'NoServiceIPOnLocalInterface',
    message: 'none',
  };
  await setPodCondition(a, SPEAKER_NAMESPACE, 'meshlb-speaker-a', condition, new Date());
  const pod = await t.context.cp.kubeConfig
    .makeApiClient(CoreV1Api)
    .readNamespacedPodStatus({ namespace: SPEAKER_NAMESPACE, name: 'meshlb-speaker-a' });
  t.is(pod.status?.conditions?.find((c) => c.type === KERNEL_ANSWERS_CONDITION)?.status, 'False');
  const err = await refusal(setPodCondition(a, SPEAKER_NAMESPACE, 'meshlb-speaker-b', condition, new Date()));
  t.is(err.code, 403);
  t.regex(err.message, /may change only its own Pod/);
});
