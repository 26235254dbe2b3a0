/**
 * The speaker's state as /debug/summary and /debug/mesh show it (and
 * `meshlb status` / `meshlb explain` read it): built from its parts, on request.
 */
import type { Wire } from '../arp/index.ts';
import { candidates, loadBound, type Cause, type Decision } from '../election/index.ts';
import type { Announcer } from './announcer.ts';
import type { ClaimBook } from './claims.ts';
import type { SpeakerMesh } from './speaker-mesh.ts';

/** What the views read. */
export interface SpeakerParts {
  nodeName: string;
  mesh: SpeakerMesh;
  announcer: Announcer;
  claims: ClaimBook;
  wire: Wire;
}

/**
 * The cheap part of debugView() for /debug/summary: what this speaker announces
 * and whom it sees in which state, without the per-IP explanations (which
 * rank every candidate on every request: tools that poll every few ms, like
 * `meshlb chaos`, must not load the speakers they measure).
 */
export function summaryView({ nodeName, mesh, announcer }: SpeakerParts): object {
  const held = announcer.held;
  return {
    node: nodeName,
    members: (mesh.membership?.members() ?? []).map((x) => ({
      node: x.node,
      state: mesh.effectiveState(x),
    })),
    announcing: [...held.keys()],
    // When it last stopped answering for each IP it no longer holds: tools
    // time a hand-over from the speaker's own clock, not from when their
    // poll of every speaker came back (100–300 ms later on a busy node).
    withdrawnAt: Object.fromEntries([...announcer.withdrawnAt].filter(([ip]) => !held.has(ip))),
    decisions: (announcer.last?.decisions ?? []).map((d) => ({ ip: d.ip, announcer: d.announcer ?? null })),
  };
}

/** The speaker's state for /debug/mesh and `meshlb status` / `meshlb explain`. */
export function debugView(parts: SpeakerParts, notReady: readonly string[]): object {
  const { nodeName, mesh, announcer, claims, wire } = parts;
  const m = mesh.membership;
  const last = announcer.last;
  return {
    node: nodeName,
    peerId: mesh.node?.peerId.toString(),
    endpoint: mesh.transport?.endpoint,
    notReady,
    incarnation: m?.incarnation,
    localHealth: m?.awareness,
    members: (m?.members() ?? []).map((x) => ({
      node: x.node,
      state: mesh.effectiveState(x),
      meshState: x.state,
      incarnation: x.incarnation,
      endpoint: x.endpoint,
    })),
    watching: mesh.watch?.watching ?? [],
    claims: claims.all(),
    announcing: [...announcer.held.values()],
    decisions: (last?.decisions ?? []).map((d) => ({
      ip: d.ip,
      pool: d.pool,
      announcer: d.announcer ?? null,
      cause: d.cause satisfies Cause,
      epoch: d.claim?.epoch ?? null,
      previous: d.previous ?? null,
      heirs: d.heirs,
      interfaces: d.interfaces,
      services: (announcer.services.get(d.ip) ?? []).map((s) => `${s.namespace}/${s.name}`),
      rejected: rejected(announcer, d),
    })),
    unannounced: last?.unannounced ?? [],
    // The load bound as this speaker computes it (meshlb explain --speaker uses its slack).
    balance:
      last?.world.balance === undefined
        ? null
        : { slack: last.world.balance.slack, bound: loadBound(last.world) ?? null },
    decidedAt: last === undefined ? null : new Date(last.at).toISOString(),
    wire: { ...wire.responder.stats(), sockets: Object.fromEntries(wire.socketStats()) },
  };
}

/**
 * Why each node ranked above the announcer (every node, when nobody may
 * announce) is not it: the reasons `meshlb explain` prints.
 */
function rejected(announcer: Announcer, d: Decision): Record<string, string> {
  const world = announcer.last?.world;
  const out: Record<string, string> = {};
  for (const c of (world === undefined ? undefined : candidates(world, d.ip)) ?? []) {
    if (c.node === d.announcer) break;
    if (c.reason !== undefined) out[c.node] = c.reason;
  }
  return out;
}
