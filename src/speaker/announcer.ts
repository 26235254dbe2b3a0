/**
 * One reconcile of the speaker, decided and acted on: builds the World from
 * the view and the mesh, decides, and acts on the decisions naming this node
 * (plan.ts): answer for new IPs, stop answering for lost ones, publish its
 * claims, watch the announcers it is heir to, and record its announcements.
 * Holds what the node answers for. Within it, the isolation rule
 * (reachability.ts), the resync after a cut (resync.ts), the wait for a Local
 * Service's kube-proxy (local-traffic.ts) and, while leaving, the hand-off.
 */
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import type { Wire } from '../arp/index.ts';
import type { Clock } from '../clock/index.ts';
import { decide, type Claim, type Decision, type World } from '../election/index.ts';
import type { AnnouncementWriter, DesiredAnnouncement, ServiceRef } from '../kube/announcements/index.ts';
import type { ClusterView, UnannouncedIp } from '../kube/world/index.ts';
import type { FastWatch, Membership, MemberState } from '../mesh/index.ts';
import type { ClaimBook } from './claims.ts';
import type { KernelReport } from './kernel-report.ts';
import { localTrafficTargets, type LocalTrafficGate, type LocalTrafficTarget } from './local-traffic.ts';
import type { SpeakerObserver } from './observer.ts';
import { plan, type Held } from './plan.ts';
import type { Reachability } from './reachability.ts';
import type { RebalancePacer } from './rebalance.ts';
import type { Resync } from './resync.ts';
import type { SpeakerMesh } from './speaker-mesh.ts';

export interface AnnouncerInit {
  nodeName: string;
  clock: Clock;
  log: Logger;
  observer?: SpeakerObserver | undefined;
  view: ClusterView;
  /** Each member's state as the election sees it. */
  mesh: Pick<SpeakerMesh, 'members'>;
  claims: ClaimBook;
  wire: Wire;
  writer: AnnouncementWriter;
  kernel: KernelReport;
  localTraffic: LocalTrafficGate;
  rebalance: RebalancePacer;
  reachability: Reachability;
  resync: Resync;
  /** Reconciles again (back from being cut off: the resync starts at the next reconcile). */
  reconcile: () => void;
  /** While leaving: nothing is held any more (every IP handed off). */
  handedOff: () => void;
}

/** The last reconcile's inputs and decisions (for debug and `meshlb explain`). */
export interface LastDecisions {
  at: number;
  world: World;
  decisions: Decision[];
  unannounced: UnannouncedIp[];
}

export class Announcer {
  readonly #init: AnnouncerInit;
  readonly #held = new Map<string, Held>();
  #last: LastDecisions | undefined;
  #services = new Map<string, ServiceRef[]>();
  #isolated = false;
  /** May take IPs over (set by #mayAnnounce). */
  #mayTake = true;
  /** IP → when this speaker last stopped answering for it (wall-clock ms; one entry per IP it ever held). */
  readonly #withdrawnAt = new Map<string, number>();

  constructor(init: AnnouncerInit) {
    this.#init = init;
  }

  /** The IPs this node answers for. */
  get held(): ReadonlyMap<string, Held> {
    return this.#held;
  }

  get last(): LastDecisions | undefined {
    return this.#last;
  }

  /** IP → the Services on it, as of the last reconcile. */
  get services(): ReadonlyMap<string, readonly ServiceRef[]> {
    return this.#services;
  }

  get withdrawnAt(): ReadonlyMap<string, number> {
    return this.#withdrawnAt;
  }

  /** Forgets what it held (the wire no longer answers: it stopped). */
  clear(): void {
    this.#held.clear();
  }

  /** Rival claims that lost to this node's: announce those IPs again (unless leaving). */
  reannounce(rivals: readonly Claim[], leaving: boolean): void {
    for (const c of rivals) {
      if (!this.#held.has(c.ip) || leaving) continue;
      this.#init.log.info(
        { ip: c.ip, rival: c.node, rivalEpoch: c.epoch },
        'a rival claim lost: announcing again',
      );
      this.#init.wire.responder.reannounce(c.ip);
    }
  }

  /** One reconcile: decide and act (as a member that left, when `leaving`: the hand-off). */
  step(membership: Membership, watch: FastWatch, leaving: boolean): void {
    const { nodeName: self, view, claims, wire, observer, clock } = this.#init;
    const t0 = performance.now();
    // Each member's state as the election sees it, once per step: the isolation
    // rule and the resync read the same map.
    const states = this.#init.mesh.members(membership);
    const { world, unannounced, services } = view.analyse(states, claims.map);
    this.#services = services;
    this.#init.kernel.check(
      world.ips.map((x) => x.ip),
      wire.localAddresses(),
    );
    const decisions = decide(world);
    const p = plan(self, decisions, this.#held);
    if (leaving) {
      // Hand-off: keep answering until a successor's claim arrives from the
      // mesh (our own decisions, made as a member that left, do not count),
      // or nobody may take the IP over.
      const byIp = new Map(decisions.map((d) => [d.ip, d]));
      for (const ip of [...this.#held.keys()]) {
        const d = byIp.get(ip);
        if (d === undefined || d.announcer === undefined || claims.get(ip)?.node !== self)
          this.#withdraw(ip, 'handed off');
      }
      if (this.#held.size === 0) this.#init.handedOff();
    } else if (!this.#mayAnnounce(states)) {
      // Cut off from the mesh majority and the API server: the rest of the
      // cluster has moved this node's IPs; answering would split traffic.
      this.#standDown('isolated', watch);
    } else {
      const resync = this.#init.resync;
      resync.begin(
        () => {
          const m = membership
            .members()
            .find((x) => x.node !== self && x.state === 'alive' && x.endpoint !== undefined);
          return m?.endpoint === undefined ? undefined : { node: m.node, endpoint: m.endpoint };
        },
        (endpoint) => {
          membership.join([endpoint]);
        },
      );
      // Back from isolation: its own claims may be stale (the others moved its IPs
      // meanwhile). Until a push-pull brings the standing claims (or resyncMs),
      // it announces nothing it does not hold.
      const resyncing = resync.holds(states);
      const mayTake = this.#mayTake && !resyncing;
      // A take of a Local Service's IP waits (no claim, no answer) until this
      // node's kube-proxy delivers the Service here (local-traffic.ts).
      const takes = p.announce.filter((a) => a.cause !== 'kept');
      const localTraffic = this.#init.localTraffic;
      const waiting = new Set(
        mayTake
          ? takes.filter((a) => !localTraffic.mayTake(a.ip, this.#localTargets(a.ip))).map((a) => a.ip)
          : [],
      );
      localTraffic.retain(new Set(takes.map((a) => a.ip)));
      // Rebalancing moves go at their pace (rebalance.ts); the holder answers meanwhile.
      const rebalances = takes.filter((a) => a.cause === 'rebalance' && !waiting.has(a.ip)).map((a) => a.ip);
      if (mayTake && rebalances.length > 0) {
        const admitted = this.#init.rebalance.admit(rebalances);
        for (const ip of rebalances) if (!admitted.has(ip)) waiting.add(ip);
      }
      // Own claims only (see ClaimBook); without the right to take, only what it holds.
      const own = claims.add(
        p.claims.filter(
          (c) => c.node === self && !waiting.has(c.ip) && (mayTake || claims.get(c.ip)?.node === self),
        ),
      );
      if (own.length > 0) {
        // Directly too, to whom acts on them: the holder each replaces (it answers
        // until it learns of the claim: a rebalance's make-before-break) and the
        // heirs (they decide the next failover from the claims they know).
        const byIp = new Map(decisions.map((d) => [d.ip, d]));
        const alsoTo = own.flatMap((c) => {
          const d = byIp.get(c.ip);
          return d === undefined ? [] : [...(d.previous === undefined ? [] : [d.previous]), ...d.heirs];
        });
        membership.publishClaims(own, { alsoTo });
      }
      for (const ip of p.withdraw) this.#withdraw(ip, 'lost');
      for (const a of p.announce) {
        if (!mayTake && (a.cause !== 'kept' || resyncing)) continue;
        if (waiting.has(a.ip)) continue;
        wire.responder.announce(a.ip, {
          interfaces: a.interfaces.length === 0 ? undefined : a.interfaces,
          probe: a.probe,
        });
        this.#held.set(a.ip, {
          ip: a.ip,
          interfaces: a.interfaces,
          epoch: a.claim.epoch,
          since: new Date(clock.wallNow()),
        });
        this.#init.log.info(
          { ip: a.ip, cause: a.cause, epoch: a.claim.epoch, previous: a.previous, interfaces: a.interfaces },
          'announcing',
        );
        if (a.cause !== 'kept' && a.cause !== 'none') observer?.failover(a.cause);
      }
      for (const r of p.retarget) {
        const h = this.#held.get(r.ip);
        if (h === undefined) continue;
        wire.responder.announce(r.ip, {
          interfaces: r.interfaces.length === 0 ? undefined : r.interfaces,
        });
        this.#held.set(r.ip, { ...h, interfaces: r.interfaces, epoch: r.epoch });
      }
      watch.watch(p.watch);
      if (!resyncing) this.#releaseLinks();
    }
    this.#init.writer.update(this.#desired());
    this.#last = { at: clock.wallNow(), world, decisions, unannounced };
    const v4 = [...this.#held.keys()].filter((ip) => isIPv4(ip)).length;
    observer?.announced({ ipv4: v4, ipv6: this.#held.size - v4 });
    observer?.decisions((performance.now() - t0) / 1_000);
  }

  /** The health check ports of the Local Services on `ip`, at this node's address. */
  #localTargets(ip: string): LocalTrafficTarget[] {
    const { view, nodeName } = this.#init;
    const services = (this.#services.get(ip) ?? []).flatMap((r) => {
      const svc = view.service(r.namespace, r.name);
      return svc === undefined ? [] : [svc];
    });
    return localTrafficTargets(services, view.node(nodeName), isIPv4(ip) ? 4 : 6);
  }

  /**
   * Links back up are answered on again once the resync is over: what another
   * node claimed meanwhile has been withdrawn (this step), the rest gets its burst.
   */
  #releaseLinks(): void {
    const responder = this.#init.wire.responder;
    for (const ifname of responder.held()) {
      this.#init.log.info(
        { ifname, answering: this.#held.size },
        'link back up: claims checked, answering on it again',
      );
      responder.release(ifname);
    }
  }

  /** Withdraws every IP and stops the close watches; when it may announce again, it resyncs first (resync.ts). */
  #standDown(why: string, watch: FastWatch): void {
    for (const ip of [...this.#held.keys()]) this.#withdraw(ip, why);
    watch.watch([]);
    this.#init.resync.standDown();
  }

  /** The isolation rule (reachability.ts), logging the changes. */
  #mayAnnounce(states: ReadonlyMap<string, MemberState>): boolean {
    const { reachability, resync, log } = this.#init;
    let known = 0;
    let reachable = 0;
    for (const state of states.values()) {
      if (state === 'left') continue;
      known++;
      if (state === 'alive' || state === 'suspect') reachable++;
    }
    const { announce, take } = reachability.evaluate(reachable, known);
    this.#mayTake = take;
    if (take && reachability.cutOffSince !== undefined) {
      // Back from being cut off from everything (see Reachability.cutOffSince).
      reachability.clearCutOff();
      if (resync.after('it reaches the others again after being cut off')) this.#init.reconcile();
    }
    if (announce === this.#isolated) {
      this.#isolated = !announce;
      const fields = { reachable, known, apiOkAt: reachability.apiOkAt ?? null };
      if (announce) log.info(fields, 'no longer isolated: announcing again');
      else log.warn(fields, 'isolated from the mesh majority and the API server: withdrawing every IP');
    }
    return announce;
  }

  #withdraw(ip: string, why: string): void {
    if (!this.#held.delete(ip)) return;
    this.#init.wire.responder.withdraw(ip);
    this.#withdrawnAt.set(ip, this.#init.clock.wallNow());
    this.#init.observer?.withdrawn();
    this.#init.log.info({ ip, why }, 'withdrawn');
  }

  /** This node's entries per Service, for the ServiceAnnouncement writer. */
  #desired(): DesiredAnnouncement[] {
    const byService = new Map<
      string,
      DesiredAnnouncement & { entries: DesiredAnnouncement['entries'][number][] }
    >();
    for (const h of this.#held.values()) {
      for (const service of this.#services.get(h.ip) ?? []) {
        const key = `${service.namespace}/${service.name}`;
        let d = byService.get(key);
        if (d === undefined) {
          d = { service, entries: [] };
          byService.set(key, d);
        }
        d.entries.push({
          ip: h.ip,
          node: this.#init.nodeName,
          interfaces: h.interfaces,
          epoch: h.epoch,
          since: h.since,
        });
      }
    }
    return [...byService.values()];
  }
}
