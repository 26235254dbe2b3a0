/**
 * L2Advertisement status: which nodes an advertisement selects, and whether
 * the interfaces it names are ones its speakers answer on. Without it, a
 * selector that matches no node or a misspelt interface is silent: the
 * addresses are simply never answered. Pure (verdict, conditions, status);
 * advertisement-reporter.ts watches and writes.
 */
import type { V1Node } from '@kubernetes/client-node';
import { matchesSelector } from '../election/index.ts';
import {
  L2ADVERTISEMENT_CONDITIONS as TYPES,
  L2ADVERTISEMENT_REASONS as REASONS,
  type Condition,
  type L2Advertisement,
  type L2AdvertisementStatus,
} from '../kube/api/index.ts';
import type { SpeakerIdentity } from '../kube/world/index.ts';
import { stamped, type DesiredCondition } from './status-applier.ts';

/** What the controller found for one advertisement. */
export interface AdvertisementVerdict {
  /** Nodes its nodeSelectors select (every node without selectors), sorted. */
  selected: string[];
  /** Of those, the nodes a speaker has published its identity on. */
  withSpeaker: string[];
  /**
   * Interfaces it names that no speaker on a selected node answers on;
   * undefined while none of those speakers has said which it answers on.
   */
  missing: string[] | undefined;
  /** It names no interface (every interface of the speakers). */
  everyInterface: boolean;
}

export function advertisementVerdict(
  adv: L2Advertisement,
  nodes: readonly V1Node[],
  speakers: readonly SpeakerIdentity[],
): AdvertisementVerdict {
  const selectors = adv.spec.nodeSelectors ?? [];
  const selected = nodes
    .filter(
      (n) => selectors.length === 0 || selectors.some((s) => matchesSelector(n.metadata?.labels ?? {}, s)),
    )
    .map((n) => n.metadata?.name ?? '')
    .filter((n) => n !== '')
    .sort();
  const chosen = new Set(selected);
  const here = speakers.filter((s) => chosen.has(s.node));
  const withSpeaker = [...new Set(here.map((s) => s.node))].sort();
  const named = adv.spec.interfaces ?? [];
  const reported = here.filter((s) => s.interfaces !== undefined);
  let missing: string[] | undefined;
  if (named.length === 0) missing = [];
  else if (reported.length > 0) {
    const found = new Set(reported.flatMap((s) => s.interfaces ?? []));
    missing = named.filter((i) => !found.has(i));
  }
  return { selected, withSpeaker, missing, everyInterface: named.length === 0 };
}

/** "a, b, c" or "a, b, c, … (12)" for messages. */
function some(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown}, … (${names.length})` : shown;
}

export function advertisementConditions(v: AdvertisementVerdict, generation: number): DesiredCondition[] {
  const c = (
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
  ): DesiredCondition => ({
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
  });
  const nodes =
    v.selected.length === 0
      ? c(
          TYPES.NodesSelected,
          'False',
          REASONS.NoNodeMatches,
          'its nodeSelectors select no node: nothing will answer for its pools',
        )
      : v.withSpeaker.length === 0
        ? c(
            TYPES.NodesSelected,
            'False',
            REASONS.NoSpeakerOnSelectedNodes,
            `it selects ${v.selected.length} node(s) (${some(v.selected)}), none of which runs a meshlb speaker`,
          )
        : c(
            TYPES.NodesSelected,
            'True',
            REASONS.NodesMatch,
            `${v.withSpeaker.length} selected node(s) run a speaker: ${some(v.withSpeaker)}`,
          );
  const interfaces = v.everyInterface
    ? c(
        TYPES.InterfacesFound,
        'True',
        REASONS.EveryInterface,
        'it names no interface: every interface the speakers answer on',
      )
    : v.missing === undefined
      ? c(
          TYPES.InterfacesFound,
          'Unknown',
          REASONS.InterfacesNotReported,
          'no speaker on a selected node has reported the interfaces it answers on yet',
        )
      : v.missing.length > 0
        ? c(
            TYPES.InterfacesFound,
            'False',
            REASONS.InterfacesMissing,
            `no speaker on a selected node answers on ${v.missing.join(', ')} (a typo, or the speakers' --interfaces leave it out)`,
          )
        : c(
            TYPES.InterfacesFound,
            'True',
            REASONS.AllInterfacesFound,
            'every interface it names is answered on',
          );
  const ok = nodes.status === 'True' && interfaces.status !== 'False';
  const ready = ok
    ? c(TYPES.Ready, 'True', REASONS.Answerable, 'its pools are answered for on the selected nodes')
    : nodes.status !== 'True'
      ? c(TYPES.Ready, 'False', nodes.reason, nodes.message)
      : c(TYPES.Ready, 'False', interfaces.reason, interfaces.message);
  return [nodes, interfaces, ready];
}

/** The full status: conditions keep their transition time while their status stays. */
export function advertisementStatus(
  adv: L2Advertisement,
  v: AdvertisementVerdict,
  now: Date,
): L2AdvertisementStatus {
  return {
    matchedNodes: v.selected.length,
    conditions: stamped(
      adv.status?.conditions,
      advertisementConditions(v, adv.metadata.generation ?? 0),
      now,
    ),
  };
}

/** What the status says, without times: written only when this changes. */
export function advertisementStatusKey(adv: L2Advertisement, v: AdvertisementVerdict): string {
  return JSON.stringify([v.selected.length, advertisementConditions(v, adv.metadata.generation ?? 0)]);
}
