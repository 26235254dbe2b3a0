import type { V1Pod } from '@kubernetes/client-node';
import { objectPath, STRATEGIC_MERGE_PATCH, type KubeClient } from '../client/index.ts';
import type { Endpoint, PeerAuthority } from '../../mesh/index.ts';
import {
  COMPONENT_LABEL,
  INTERFACES_ANNOTATION,
  MACS_ANNOTATION,
  MESH_ADDRS_ANNOTATION,
  PEER_ID_ANNOTATION,
  SPEAKER_COMPONENT,
} from './constants.ts';

/** A speaker as its Pod publishes it. */
export interface SpeakerIdentity {
  /** spec.nodeName: the node the Pod runs on. */
  node: string;
  /** `namespace/name` of the Pod. */
  pod: string;
  peerId: string;
  /** Mesh multiaddrs; empty when the annotation is missing or not a JSON array of strings. */
  addrs: readonly string[];
  /** MACs it answers on (lower case); empty when missing or malformed (an older speaker). */
  macs: readonly string[];
  /**
   * Interfaces it answers on; undefined when the annotation is missing or
   * malformed (an older speaker, or one that has not published yet).
   */
  interfaces: readonly string[] | undefined;
}

/** What a speaker publishes on its Pod. */
export interface PublishedIdentity {
  peerId: string;
  addrs: readonly string[];
  macs?: readonly string[];
  interfaces?: readonly string[];
}

function parseStringList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((a) => typeof a === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

const parseStrings = (text: string | undefined): string[] => parseStringList(text) ?? [];

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function parseMacs(text: string | undefined): string[] {
  return parseStrings(text)
    .map((m) => m.toLowerCase())
    .filter((m) => MAC.test(m));
}

/**
 * The speakers that published an identity: Pods labelled
 * `app.kubernetes.io/component=speaker`, scheduled on a node, not finished
 * (phase Succeeded or Failed: that process is gone), with a `meshlb.io/peer-id`
 * annotation. A terminating Pod still counts: its speaker hands its IPs off and
 * leaves the mesh, and must be heard doing so. Sorted by node, then Pod.
 */
export function speakerIdentities(pods: readonly V1Pod[]): SpeakerIdentity[] {
  const out: SpeakerIdentity[] = [];
  for (const pod of pods) {
    const meta = pod.metadata ?? {};
    if (meta.labels?.[COMPONENT_LABEL] !== SPEAKER_COMPONENT) continue;
    const node = pod.spec?.nodeName;
    const peerId = meta.annotations?.[PEER_ID_ANNOTATION];
    const phase = pod.status?.phase;
    if (node === undefined || node === '' || peerId === undefined || peerId === '') continue;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    out.push({
      node,
      pod: `${meta.namespace ?? ''}/${meta.name ?? ''}`,
      peerId,
      addrs: parseStrings(meta.annotations?.[MESH_ADDRS_ANNOTATION]),
      macs: parseMacs(meta.annotations?.[MACS_ANNOTATION]),
      interfaces: parseStringList(meta.annotations?.[INTERFACES_ANNOTATION]),
    });
  }
  return out.sort((a, b) =>
    a.node !== b.node ? (a.node < b.node ? -1 : 1) : a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0,
  );
}

/**
 * The Kubernetes-backed PeerAuthority: peer P may speak for node N only if a
 * speaker Pod scheduled on N (spec.nodeName, which the scheduler sets and the
 * speaker cannot) carries `meshlb.io/peer-id: P`. During a rolling update two
 * speaker Pods may share a node; each may speak for it.
 *
 * It reads Pods from `pods()` (an informer's cache) and keeps an index, rebuilt
 * on the first question after `invalidate()`: call that on every Pod event.
 */
export class KubePeerAuthority implements PeerAuthority {
  readonly #pods: () => readonly V1Pod[];
  #identities: SpeakerIdentity[] | undefined;
  #byNode: Map<string, Set<string>> | undefined;

  constructor(pods: () => readonly V1Pod[]) {
    this.#pods = pods;
  }

  /** The Pods changed: the next question rebuilds the index. */
  invalidate(): void {
    this.#identities = undefined;
    this.#byNode = undefined;
  }

  /** Every published speaker identity (sorted by node). */
  identities(): readonly SpeakerIdentity[] {
    this.#identities ??= speakerIdentities(this.#pods());
    return this.#identities;
  }

  maySpeakFor(peerId: string, node: string): boolean {
    if (this.#byNode === undefined) {
      const byNode = new Map<string, Set<string>>();
      for (const id of this.identities()) {
        const peers = byNode.get(id.node) ?? new Set();
        peers.add(id.peerId);
        byNode.set(id.node, peers);
      }
      this.#byNode = byNode;
    }
    return this.#byNode.get(node)?.has(peerId) === true;
  }

  /** The node whose speaker published `mac` (any case), if one did. */
  nodeOfMac(mac: string): string | undefined {
    const m = mac.toLowerCase();
    return this.identities().find((id) => id.macs.includes(m))?.node;
  }

  /**
   * Where to find the other speakers (the mesh's seeds): the endpoints of every
   * identity with addresses, except those on `selfNode`.
   */
  peers(selfNode: string): Endpoint[] {
    return this.identities()
      .filter((id) => id.node !== selfNode && id.addrs.length > 0)
      .map((id) => ({ peerId: id.peerId, addrs: id.addrs }));
  }
}

/**
 * Publishes this speaker's identity on its own Pod: a JSON merge patch of the
 * `meshlb.io/peer-id`, `meshlb.io/mesh-addrs`, `meshlb.io/macs` and
 * `meshlb.io/interfaces` annotations (nothing else of the Pod is touched).
 * Needs `patch` on `pods` in the speaker's namespace.
 */
export async function publishIdentity(
  kube: KubeClient,
  namespace: string,
  podName: string,
  id: PublishedIdentity,
  signal?: AbortSignal,
): Promise<V1Pod> {
  return kube.patch<V1Pod>(
    objectPath('', 'v1', 'pods', namespace, podName),
    {
      metadata: {
        annotations: {
          [PEER_ID_ANNOTATION]: id.peerId,
          [MESH_ADDRS_ANNOTATION]: JSON.stringify(id.addrs),
          [MACS_ANNOTATION]: JSON.stringify(id.macs ?? []),
          [INTERFACES_ANNOTATION]: JSON.stringify(id.interfaces ?? []),
        },
      },
    },
    signal === undefined ? {} : { signal },
  );
}

/** A condition a speaker sets on its own Pod (beside the kubelet's, which it keeps). */
export interface PodCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * Sets one condition on the speaker's own Pod: a strategic merge patch of the
 * status subresource, so the kubelet's conditions stay (the list merges by
 * type). Needs `patch` on `pods/status`; the admission policy keeps it to the
 * speaker's own Pod.
 */
export async function setPodCondition(
  kube: KubeClient,
  namespace: string,
  podName: string,
  c: PodCondition,
  now: Date,
  signal?: AbortSignal,
): Promise<void> {
  await kube.patch(
    `${objectPath('', 'v1', 'pods', namespace, podName)}/status`,
    { status: { conditions: [{ ...c, lastTransitionTime: now.toISOString() }] } },
    { contentType: STRATEGIC_MERGE_PATCH, ...(signal === undefined ? {} : { signal }) },
  );
}
