import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from 'pino';
import { Wire, type WireConfig, type WireEvent } from '../arp/index.ts';
import type { Clock, Timer } from '../clock/index.ts';
import {
  decide,
  explain,
  type Cause,
  type Decision,
  type IsolationConfig,
  type World,
} from '../election/index.ts';
import {
  AnnouncementWriter,
  type DesiredAnnouncement,
  type ServiceRef,
} from '../kube/announcements/index.ts';
import type { KubeClient } from '../kube/client/index.ts';
import { EventRecorder } from '../kube/events.ts';
import { ClusterView, Coalescer, type UnannouncedIp } from '../kube/world/index.ts';
import {
  FastWatch,
  Membership,
  type Endpoint,
  type MeshConfig,
  type MemberState,
  type WatchConfig,
} from '../mesh/index.ts';
import { createMeshNode, Libp2pTransport, type MeshNode } from '../mesh/libp2p/index.ts';
import { ClaimBook } from './claims.ts';
import { IdentityPublisher } from './identity-publisher.ts';
import { KernelReport } from './kernel-report.ts';
import {
  LOCAL_TRAFFIC_WAIT_MS,
  LocalTrafficGate,
  localTrafficTargets,
  type LocalTrafficTarget,
} from './local-traffic.ts';
import { plan, type Held } from './plan.ts';
import { Reachability } from './reachability.ts';
import type { SpeakerObserver } from './observer.ts';
import { Resync } from './resync.ts';
import { readSavedView, SAVED_VIEW_FILE, ViewSaver } from './saved-view.ts';

export interface SpeakerInit {
  kube: KubeClient;
  clock: Clock;
  log: Logger;
  nodeName: string;
  podName: string;
  /** Namespace of the speaker Pods. */
  namespace: string;
  meshAddress: string;
  meshPort: number;
  networkKey: Uint8Array;
  /** The libp2p identity (loadPeerKey: kept on the node across restarts). */
  privateKey: PrivateKey;
  mesh: MeshConfig;
  watch: WatchConfig;
  wire: WireConfig;
  interfaces: readonly string[];
  handoffTimeoutMs: number;
  /**
   * Before taking the IP of an externalTrafficPolicy: Local Service, wait at
   * most this long for this node's kube-proxy to report the Service's local
   * endpoint (local-traffic.ts); 0: take at once. Default LOCAL_TRAFFIC_WAIT_MS.
   */
  localTrafficWaitMs?: number;
  observer?: SpeakerObserver;
  /** The isolation rule's settings (election/isolation.ts; default grace 3 s). */
  isolation?: Partial<IsolationConfig>;
  /** Publishing the identity on the Pod: first retry after this, doubling to 30 s (tests shorten it). */
  identityRetryMs?: number;
  /**
   * The speaker's directory on the node (--state-dir): the view of the cluster
   * is saved there (saved-view.ts) and restored at a start that finds the API
   * server unreachable, so a restarted speaker rejoins the mesh without it.
   */
  stateDir?: string;
}

/** Why the speaker is not ready, for /readyz and the log. */
export type NotReady =
  'starting' | 'caches not synced' | 'identity not published' | 'mesh not synced' | 'stopping';

/**
 * The speaker: mesh + cluster view + election + wire in one reconcile loop.
 * Any change (a watch event, a membership change, a close-watch verdict, a
 * claim from the mesh) requests one reconcile, coalesced per turn of the
 * event loop; there is no polling timer. A reconcile builds the World,
 * decides, and acts on the decisions naming this node (plan.ts): answer for
 * new IPs, stop answering for lost ones, publish its claims, watch the
 * announcers it is heir to, and record its announcements.
 *
 * Nothing is answered before the caches are synced and the mesh has synced
 * once (so the standing claims are known: a restarted speaker must not
 * take an IP another node holds). On stop with hand-off, the speaker leaves
 * the mesh and keeps answering until a successor claims each IP, at most
 * handoffTimeoutMs (make-before-break).
 */
export class Speaker {
  readonly view: ClusterView;
  readonly wire: Wire;
  readonly writer: AnnouncementWriter;
  readonly claims: ClaimBook;
  #node: MeshNode | undefined;
  #transport: Libp2pTransport | undefined;
  #membership: Membership | undefined;
  #watch: FastWatch | undefined;
  readonly #init: SpeakerInit;
  readonly #log: Logger;
  readonly #events: EventRecorder;
  readonly #reconcile: Coalescer;
  readonly #held = new Map<string, Held>();
  /** Peer IDs already given to membership.join. */
  readonly #seeded = new Set<string>();
  #joined = false;
  /** Publishes the identity on the Pod (identity-publisher.ts). */
  readonly #identity: IdentityPublisher;
  /** Aborts the speaker's own API requests in flight (identity, reachability probes) on stop(). */
  readonly #requests = new AbortController();
  #started = false;
  #leaving = false;
  #handoffDone: (() => void) | undefined;
  #last: { at: number; world: World; decisions: Decision[]; unannounced: UnannouncedIp[] } | undefined;
  #services = new Map<string, ServiceRef[]>();
  readonly #reachability: Reachability;
  /** Takes of Local Services' IPs wait for this node's kube-proxy. */
  readonly #localTraffic: LocalTrafficGate;
  #isolated = false;
  /** Back from a time it could not see the others: takes wait for the standing claims (resync.ts). */
  readonly #resync: Resync;
  /** Answering interfaces whose link is down (their coming back starts a resync). */
  readonly #linksDown = new Set<string>();
  /** May take IPs over (set by #mayAnnounce). */
  #mayTake = true;
  /** IP → when this speaker last stopped answering for it (wall-clock ms; one entry per IP it ever held). */
  readonly #withdrawnAt = new Map<string, number>();
  /** Saves the view to the state directory (when there is one). */
  readonly #saver: ViewSaver | undefined;
  /** This node's kernel answering for service IPs by itself, reported (kernel-report.ts). */
  readonly #kernel: KernelReport;

  constructor(init: SpeakerInit) {
    this.#init = init;
    this.#log = init.log;
    this.#reachability = new Reachability({
      clock: init.clock,
      ...(init.isolation === undefined ? {} : { isolation: init.isolation }),
      probe: (timeoutMs) => init.kube.get('/version', { timeoutMs, signal: this.#requests.signal }),
      onProbed: () => {
        this.#reconcile.request();
      },
    });
    this.#reconcile = new Coalescer(() => {
      this.#step();
    });
    this.#localTraffic = new LocalTrafficGate({
      clock: init.clock,
      waitMs: init.localTrafficWaitMs ?? LOCAL_TRAFFIC_WAIT_MS,
      onChange: () => {
        this.#reconcile.request();
      },
      log: init.log,
      onResult: (result, ms) => init.observer?.localTrafficWait(result, ms / 1_000),
    });
    this.claims = new ClaimBook(
      () => {
        this.#reconcile.request();
      },
      (rivals) => {
        for (const c of rivals) {
          if (!this.#held.has(c.ip) || this.#leaving) continue;
          this.#log.info(
            { ip: c.ip, rival: c.node, rivalEpoch: c.epoch },
            'a rival claim lost: announcing again',
          );
          this.wire.responder.reannounce(c.ip);
        }
      },
    );
    this.view = new ClusterView({
      kube: init.kube,
      clock: init.clock,
      namespace: init.namespace,
      onChange: () => {
        // Saved once every list has succeeded (view.saved() is undefined before:
        // a restored view is never written back).
        this.#saver?.changed();
        this.#reconcile.request();
      },
      log: init.log,
    });
    this.#saver =
      init.stateDir === undefined
        ? undefined
        : new ViewSaver({
            file: join(init.stateDir, SAVED_VIEW_FILE),
            clock: init.clock,
            log: init.log,
            take: () => this.view.saved(init.clock.wallNow()),
          });
    this.wire = new Wire({
      interfaces: init.interfaces,
      config: init.wire,
      clock: init.clock,
      log: init.log,
      // A link back up stays silent until the resync has brought the claims
      // made while it was down (#step releases it): answering at once made two
      // MACs answer for ~0.4 s after a cut healed (issue 16 item 11).
      holdOnLinkUp: true,
      onEvent: (e) => {
        this.#onWire(e);
      },
      // Another speaker answering for one of our IPs is a claim race settling
      // (the claims decide, the loser stops), not a foreign host to hunt down.
      peerOf: (mac) => {
        const node = this.view.authority.nodeOfMac(mac);
        return node === init.nodeName ? undefined : node;
      },
    });
    this.writer = new AnnouncementWriter({
      kube: init.kube,
      clock: init.clock,
      node: init.nodeName,
      log: init.log,
    });
    this.#events = new EventRecorder({
      kube: init.kube,
      clock: init.clock,
      instance: init.podName,
      controller: 'meshlb.io/speaker',
      log: init.log,
    });
    this.#resync = new Resync({
      clock: init.clock,
      log: init.log,
      reconnectIntervalMs: init.mesh.reconnectIntervalMs,
      onChange: () => {
        this.#reconcile.request();
      },
    });
    this.#identity = new IdentityPublisher({
      ...init,
      ...(init.identityRetryMs === undefined ? {} : { retryMs: init.identityRetryMs }),
      endpoint: () => this.#transport?.endpoint,
      wire: () => ({ macs: this.wire.macs(), interfaces: this.wire.interfaces() }),
      onPublished: () => {
        this.#reconcile.request();
      },
      signal: this.#requests.signal,
    });
    this.#kernel = new KernelReport({
      ...init,
      events: this.#events,
      nodeUid: () => this.view.node(init.nodeName)?.metadata?.uid,
      answered: (ips) => init.observer?.kernelAnswered(ips),
      signal: this.#requests.signal,
    });
  }

  get membership(): Membership | undefined {
    return this.#membership;
  }

  get fastWatch(): FastWatch | undefined {
    return this.#watch;
  }

  get transport(): Libp2pTransport | undefined {
    return this.#transport;
  }

  get peerId(): string | undefined {
    return this.#node?.peerId.toString();
  }

  /** The IPs this node answers for. */
  get held(): ReadonlyMap<string, Held> {
    return this.#held;
  }

  /**
   * Opens the packet sockets (throws PacketSocketPermissionError without
   * CAP_NET_RAW: fail early and loudly), starts the watches and the mesh, and
   * publishes the identity. Readiness follows (readiness()). If any step
   * fails, what the earlier ones opened is closed before the error is thrown.
   */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  async #start(): Promise<void> {
    const init = this.#init;
    this.wire.start();
    const family = isIPv4(init.meshAddress) ? 'ip4' : 'ip6';
    const node = await createMeshNode({
      privateKey: init.privateKey,
      networkKey: init.networkKey,
      listen: [`/${family}/${init.meshAddress}/tcp/${init.meshPort}`],
      // Every dialer holds the mesh key (pnet) or fails the handshake; the
      // inbound rate limit would only refuse a restarting cluster's dials.
      allow: [family === 'ip4' ? '/ip4/0.0.0.0/ipcidr/0' : '/ip6/::/ipcidr/0'],
    });
    this.#node = node;
    const transport = new Libp2pTransport({
      node,
      authority: this.view.authority,
      log: init.log,
      datagram: {
        host: init.meshAddress,
        port: init.meshPort,
        networkKey: init.networkKey,
        privateKey: init.privateKey,
      },
    });
    this.#transport = transport;
    await transport.listen();
    const membership = new Membership({
      node: init.nodeName,
      endpoint: transport.endpoint,
      clock: init.clock,
      transport,
      config: init.mesh,
      authority: this.view.authority,
      claims: {
        all: () => this.claims.all(),
        merge: (claims, _from, via) => {
          this.claims.merge(claims);
          if (via === 'push-pull' && this.#resync.heard()) this.#reconcile.request();
        },
      },
      onError: (err, where) => {
        init.log.error(
          { err, where },
          where === 'tick'
            ? 'a membership tick threw; the loop goes on (meshlb_mesh_loop_errors_total)'
            : 'the mesh transport threw on a send; counted as lost (meshlb_mesh_send_errors_total)',
        );
      },
    });
    this.#membership = membership;
    const watch = new FastWatch({ clock: init.clock, membership, config: init.watch });
    this.#watch = watch;
    membership.onEvent((e) => {
      // Who the mesh says is alive, and on whose word: the first thing to read
      // when an IP moved (suspicions only at debug: most are refuted at once).
      const fields = {
        member: e.node,
        incarnation: e.incarnation,
        via: e.evidence.via,
        from: e.evidence.from,
        previous: e.evidence.previous,
        accusers: e.evidence.accusers,
      };
      if (e.type === 'suspect') this.#log.debug(fields, 'mesh: member suspected');
      else this.#log.info(fields, `mesh: member ${e.type}`);
      this.#reconcile.request();
    });
    membership.onSynced((e) => {
      this.#log.info({ via: e.via, from: e.from }, 'mesh synced: the standing claims are known');
      this.#reconcile.request();
    });
    watch.onChange((n, failed) => {
      this.#log.info(
        { member: n },
        failed ? 'close watch: announcer failed' : 'close watch: announcer answers again',
      );
      // A failed announcer's IPs are unanswered: decide now, not behind the rest of this turn's I/O.
      if (failed) this.#reconcile.now();
      else this.#reconcile.request();
    });
    await transport.start({
      handle: (m, opts) => {
        // A member that left handles nothing more, but the hand-off waits for
        // the successors' claims: take them here (the transport has already
        // checked that the sender may speak for its node).
        if (this.#leaving && m.type === 'claims')
          this.claims.merge(m.claims.filter((c) => c.node === m.from));
        else membership.handle(m, opts);
      },
      hint: (n) => {
        this.#log.debug({ member: n }, 'mesh: connection closed: checking the member now');
        membership.hint(n);
        watch.hint(n);
      },
      unreachable: (n) => {
        this.#log.debug({ member: n }, 'mesh: member refused a connection');
        membership.unreachable(n);
      },
    });
    membership.start();
    this.writer.start();
    await this.view.start();
    await this.#restoreIfUnsynced();
    this.#started = true;
    this.#identity.publish();
    this.#log.info(
      { peerId: node.peerId.toString(), endpoint: transport.endpoint, interfaces: init.interfaces },
      'speaker started',
    );
  }

  /**
   * Each informer has made its first attempt: if the lists failed (the API
   * server unreachable: a speaker restarted during an outage), the view saved
   * on the node stands in until they succeed, so that the speaker rejoins the
   * mesh (its peer key is the one its Pod publishes) and decides as before.
   */
  async #restoreIfUnsynced(): Promise<void> {
    const dir = this.#init.stateDir;
    if (dir === undefined || this.view.synced) return;
    const saved = await readSavedView(join(dir, SAVED_VIEW_FILE), this.#init.clock.wallNow(), this.#log);
    if (saved === undefined || !this.view.restore(saved)) return;
    this.#log.warn(
      { savedAt: new Date(saved.savedAt).toISOString(), ageMs: this.#init.clock.wallNow() - saved.savedAt },
      'the API server did not answer: deciding on the view saved on this node until it does',
    );
  }

  /**
   * The others may accept this speaker's peer ID for its node: it published
   * it, or its Pod already carries it (an earlier run with the same key), or
   * the API server is out of reach and the view is the saved one: then the
   * key kept on the node is the one an earlier run published, and if it was
   * not, the others drop what it sends (unauthorised), which is no worse than
   * not joining.
   */
  get #identityKnown(): boolean {
    const peerId = this.#node?.peerId.toString();
    return (
      this.#identity.published ||
      this.view.fromSavedView ||
      (peerId !== undefined && this.view.authority.maySpeakFor(peerId, this.#init.nodeName))
    );
  }

  /** Why the speaker is not ready, or an empty list. */
  notReady(): NotReady[] {
    if (this.#leaving) return ['stopping'];
    if (!this.#started) return ['starting'];
    const out: NotReady[] = [];
    if (!this.view.synced) out.push('caches not synced');
    if (!this.#identityKnown) out.push('identity not published');
    if (this.#membership?.synced !== true) out.push('mesh not synced');
    return out;
  }

  /** Joins the mesh once the speaker Pods are known, and joins speakers that appear later. */
  #join(membership: Membership): void {
    const peers = this.view.peers(this.#init.nodeName);
    const fresh: Endpoint[] = peers.filter((p) => !this.#seeded.has(p.peerId));
    if (this.#joined && fresh.length === 0) return;
    // Known members need no seeding; a new speaker joins us by itself, but a
    // first join (or one side of a cluster that started apart) needs the seeds.
    const known = new Set(
      membership.members().flatMap((m) => (m.endpoint === undefined ? [] : [m.endpoint.peerId])),
    );
    const seeds = fresh.filter((p) => !known.has(p.peerId));
    for (const p of fresh) this.#seeded.add(p.peerId);
    if (!this.#joined || seeds.length > 0) {
      this.#log.info(
        { seeds: seeds.map((s) => s.peerId) },
        this.#joined ? 'joining new speakers' : 'joining the mesh',
      );
      membership.join(seeds);
      this.#joined = true;
    }
  }

  #members(membership: Membership): Map<string, MemberState> {
    const members = new Map<string, MemberState>();
    for (const m of membership.members()) members.set(m.node, this.#effectiveState(m));
    return members;
  }

  /** One reconcile: decide and act. */
  #step(): void {
    const membership = this.#membership;
    const watch = this.#watch;
    if (!this.#started || membership === undefined || watch === undefined || !this.view.synced) return;
    if (!this.#leaving && this.#identityKnown) this.#join(membership);
    if (!membership.synced && !this.#leaving) return;
    const t0 = performance.now();
    // Each member's state as the election sees it, once per step: the isolation
    // rule and the resync read the same map.
    const states = this.#members(membership);
    const { world, unannounced, services } = this.view.analyse(states, this.claims.map);
    this.#services = services;
    this.#kernel.check(
      world.ips.map((x) => x.ip),
      this.wire.localAddresses(),
    );
    const decisions = decide(world);
    const p = plan(this.#init.nodeName, decisions, this.#held);
    if (this.#leaving) {
      // Hand-off: keep answering until a successor's claim arrives from the
      // mesh (our own decisions, made as a member that left, do not count),
      // or nobody may take the IP over.
      const byIp = new Map(decisions.map((d) => [d.ip, d]));
      for (const ip of [...this.#held.keys()]) {
        const d = byIp.get(ip);
        if (d === undefined || d.announcer === undefined || this.claims.get(ip)?.node !== this.#init.nodeName)
          this.#withdraw(ip, 'handed off');
      }
      if (this.#held.size === 0) this.#handoffDone?.();
    } else if (!this.#mayAnnounce(states)) {
      // Cut off from the mesh majority and the API server: the rest of the
      // cluster has moved this node's IPs; answering would split traffic.
      this.#standDown('isolated');
    } else {
      const self = this.#init.nodeName;
      this.#resync.start(
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
      const resyncing = this.#resync.holds(states);
      const mayTake = this.#mayTake && !resyncing;
      // A take of a Local Service's IP waits (no claim, no answer) until this
      // node's kube-proxy delivers the Service here (local-traffic.ts).
      const takes = p.announce.filter((a) => a.cause !== 'kept');
      const waiting = new Set(
        mayTake
          ? takes.filter((a) => !this.#localTraffic.mayTake(a.ip, this.#localTargets(a.ip))).map((a) => a.ip)
          : [],
      );
      this.#localTraffic.retain(new Set(takes.map((a) => a.ip)));
      // Own claims only (see ClaimBook); without the right to take, only what it holds.
      const own = this.claims.add(
        p.claims.filter(
          (c) => c.node === self && !waiting.has(c.ip) && (mayTake || this.claims.get(c.ip)?.node === self),
        ),
      );
      if (own.length > 0) membership.publishClaims(own);
      for (const ip of p.withdraw) this.#withdraw(ip, 'lost');
      for (const a of p.announce) {
        if (!mayTake && (a.cause !== 'kept' || resyncing)) continue;
        if (waiting.has(a.ip)) continue;
        this.wire.responder.announce(a.ip, {
          interfaces: a.interfaces.length === 0 ? undefined : a.interfaces,
          probe: a.probe,
        });
        this.#held.set(a.ip, {
          ip: a.ip,
          interfaces: a.interfaces,
          epoch: a.claim.epoch,
          since: new Date(this.#init.clock.wallNow()),
        });
        this.#log.info(
          { ip: a.ip, cause: a.cause, epoch: a.claim.epoch, previous: a.previous, interfaces: a.interfaces },
          'announcing',
        );
        if (a.cause === 'takeover' || a.cause === 'failback' || a.cause === 'fresh')
          this.#init.observer?.failover(a.cause);
      }
      for (const r of p.retarget) {
        const h = this.#held.get(r.ip);
        if (h === undefined) continue;
        this.wire.responder.announce(r.ip, {
          interfaces: r.interfaces.length === 0 ? undefined : r.interfaces,
        });
        this.#held.set(r.ip, { ...h, interfaces: r.interfaces, epoch: r.epoch });
      }
      watch.watch(p.watch);
      if (!resyncing) this.#releaseLinks();
    }
    this.writer.update(this.#desired());
    this.#last = { at: this.#init.clock.wallNow(), world, decisions, unannounced };
    const v4 = [...this.#held.keys()].filter((ip) => isIPv4(ip)).length;
    this.#init.observer?.announced({ ipv4: v4, ipv6: this.#held.size - v4 });
    this.#init.observer?.decisions((performance.now() - t0) / 1_000);
  }

  /** The health check ports of the Local Services on `ip`, at this node's address. */
  #localTargets(ip: string): LocalTrafficTarget[] {
    const services = (this.#services.get(ip) ?? []).flatMap((r) => {
      const svc = this.view.service(r.namespace, r.name);
      return svc === undefined ? [] : [svc];
    });
    return localTrafficTargets(services, this.view.node(this.#init.nodeName), isIPv4(ip) ? 4 : 6);
  }

  /**
   * Links back up are answered on again once the resync is over: what another
   * node claimed meanwhile has been withdrawn (this step), the rest gets its burst.
   */
  #releaseLinks(): void {
    for (const ifname of this.wire.responder.held()) {
      this.#log.info(
        { ifname, answering: this.#held.size },
        'link back up: claims checked, answering on it again',
      );
      this.wire.responder.release(ifname);
    }
  }

  /** Withdraws every IP and stops the close watches; when it may announce again, it resyncs first (#resync). */
  #standDown(why: string): void {
    for (const ip of [...this.#held.keys()]) this.#withdraw(ip, why);
    this.#watch?.watch([]);
    this.#resync.standDown();
  }

  /** The isolation rule (reachability.ts), logging the changes. */
  #mayAnnounce(states: ReadonlyMap<string, MemberState>): boolean {
    let known = 0;
    let reachable = 0;
    for (const state of states.values()) {
      if (state === 'left') continue;
      known++;
      if (state === 'alive' || state === 'suspect') reachable++;
    }
    const { announce, take } = this.#reachability.evaluate(reachable, known);
    this.#mayTake = take;
    if (take && this.#reachability.cutOffSince !== undefined) {
      // Back from being cut off from everything (see Reachability.cutOffSince).
      this.#reachability.clearCutOff();
      if (this.#resync.after('it reaches the others again after being cut off')) this.#reconcile.request();
    }
    if (announce === this.#isolated) {
      this.#isolated = !announce;
      const fields = { reachable, known, apiOkAt: this.#reachability.apiOkAt ?? null };
      if (announce) this.#log.info(fields, 'no longer isolated: announcing again');
      else this.#log.warn(fields, 'isolated from the mesh majority and the API server: withdrawing every IP');
    }
    return announce;
  }

  #withdraw(ip: string, why: string): void {
    if (!this.#held.delete(ip)) return;
    this.wire.responder.withdraw(ip);
    this.#withdrawnAt.set(ip, this.#init.clock.wallNow());
    this.#init.observer?.withdrawn();
    this.#log.info({ ip, why }, 'withdrawn');
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

  #onWire(e: WireEvent): void {
    if (e.type === 'addresses') {
      this.#reconcile.request();
      return;
    }
    if (e.type === 'peer-answer') {
      // A peer answering for an IP it claims is a race settling (Wire logs it);
      // one answering for an IP it does not claim is its kernel (kernel-answers.ts).
      const holder = this.claims.get(e.ip)?.node;
      if (holder !== e.node)
        this.#log.warn(
          { ip: e.ip, ifname: e.ifname, node: e.node, mac: e.mac, claimedBy: holder ?? null },
          "another node answers ARP for a service IP it does not claim: its kernel does (the IP is an address of one of its interfaces: IPVS without strictARP?); see that node's KernelAnswersServiceIPs Event",
        );
      return;
    }
    if (e.type === 'link') {
      // After the Wire has updated its set (a removal is told before it is done).
      queueMicrotask(() => {
        this.#identity.republishIfChanged();
      });
      if (!e.up) this.#linksDown.add(e.ifname);
      else if (this.#linksDown.delete(e.ifname) && this.#resync.after('its link is up again'))
        this.#reconcile.request();
      return;
    }
    if (e.type !== 'conflict') return;
    this.#log.warn(
      { ip: e.ip, ifname: e.ifname, foreignMac: e.foreignMac, evidence: e.evidence },
      'address conflict',
    );
    for (const s of this.#services.get(e.ip) ?? [])
      this.#events.record({
        regarding: { apiVersion: 'v1', kind: 'Service', namespace: s.namespace, name: s.name, uid: s.uid },
        type: 'Warning',
        reason: 'AddressConflict',
        action: 'Announce',
        note: `${e.foreignMac} also answers for ${e.ip} on ${this.#init.nodeName}/${e.ifname} (${e.evidence}); meshlb does not fight it: find the host with that MAC`,
      });
  }

  /**
   * The cheap part of debug() for /debug/summary: what this speaker announces
   * and whom it sees in which state, without the per-IP explanations (which
   * rank every candidate on every request: tools that poll every few ms, like
   * `meshlb chaos`, must not load the speakers they measure).
   */
  summary(): object {
    return {
      node: this.#init.nodeName,
      members: (this.#membership?.members() ?? []).map((x) => ({
        node: x.node,
        state: this.#effectiveState(x),
      })),
      announcing: [...this.#held.keys()],
      // When it last stopped answering for each IP it no longer holds: tools
      // time a hand-over from the speaker's own clock, not from when their
      // poll of every speaker came back (100–300 ms later on a busy node).
      withdrawnAt: Object.fromEntries([...this.#withdrawnAt].filter(([ip]) => !this.#held.has(ip))),
      decisions: (this.#last?.decisions ?? []).map((d) => ({ ip: d.ip, announcer: d.announcer ?? null })),
    };
  }

  /** A member's state as the election sees it: dead once this speaker's close watch failed it. */
  #effectiveState(m: { node: string; state: MemberState }): MemberState {
    return this.#watch?.failed(m.node) === true ? 'dead' : m.state;
  }

  /** The speaker's state for /debug/mesh and `meshlb status` / `meshlb explain`. */
  debug(): object {
    const m = this.#membership;
    return {
      node: this.#init.nodeName,
      peerId: this.peerId,
      endpoint: this.#transport?.endpoint,
      notReady: this.notReady(),
      incarnation: m?.incarnation,
      localHealth: m?.awareness,
      members: (m?.members() ?? []).map((x) => ({
        node: x.node,
        state: this.#effectiveState(x),
        meshState: x.state,
        incarnation: x.incarnation,
        endpoint: x.endpoint,
      })),
      watching: this.#watch?.watching ?? [],
      claims: this.claims.all(),
      announcing: [...this.#held.values()],
      decisions: (this.#last?.decisions ?? []).map((d) => ({
        ip: d.ip,
        pool: d.pool,
        announcer: d.announcer ?? null,
        cause: d.cause satisfies Cause,
        epoch: d.claim?.epoch ?? null,
        previous: d.previous ?? null,
        heirs: d.heirs,
        interfaces: d.interfaces,
        services: (this.#services.get(d.ip) ?? []).map((s) => `${s.namespace}/${s.name}`),
        rejected: this.#rejected(d),
      })),
      unannounced: this.#last?.unannounced ?? [],
      decidedAt: this.#last === undefined ? null : new Date(this.#last.at).toISOString(),
      wire: { ...this.wire.responder.stats(), sockets: Object.fromEntries(this.wire.socketStats()) },
    };
  }

  /**
   * Why each node ranked above the announcer (every node, when nobody may
   * announce) is not it: the reasons `meshlb explain` prints.
   */
  #rejected(d: Decision): Record<string, string> {
    const world = this.#last?.world;
    const e = world === undefined ? undefined : explain(world, d.ip);
    const out: Record<string, string> = {};
    for (const c of e?.candidates ?? []) {
      if (c.node === d.announcer) break;
      if (c.reason !== undefined) out[c.node] = c.reason;
    }
    return out;
  }

  /**
   * Stops. With `handoff` (SIGTERM): leaves the mesh so the successors take
   * over at once, keeps answering until each IP is claimed by a successor (at
   * most handoffTimeoutMs), then withdraws what is left and closes everything.
   */
  async stop(opts: { handoff?: boolean } = {}): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#identity.stop();
    this.#resync.stop();
    this.#saver?.stop();
    this.#requests.abort(new Error('speaker stopped'));
    this.#reachability.stop();
    this.#localTraffic.stop();
    this.#kernel.stop();
    const m = this.#membership;
    if (opts.handoff === true && m !== undefined && this.#held.size > 0) {
      const started = this.#init.clock.now();
      const done = new Promise<void>((resolve) => {
        this.#handoffDone = resolve;
      });
      this.#watch?.stop();
      m.leave();
      this.#reconcile.request();
      let timer: Timer | undefined;
      await Promise.race([
        done,
        new Promise<void>((resolve) => {
          timer = this.#init.clock.setTimeout(resolve, this.#init.handoffTimeoutMs);
        }),
      ]);
      timer?.cancel();
      this.#log.info(
        { ms: this.#init.clock.now() - started, notHandedOff: [...this.#held.keys()] },
        'hand-off finished',
      );
    } else {
      this.#watch?.stop();
      if (m !== undefined && this.#started) m.leave();
    }
    this.#reconcile.stop();
    this.wire.stop();
    this.#held.clear();
    await Promise.allSettled([
      this.writer.stop(),
      this.view.stop(),
      this.#transport?.stop(),
      this.#node?.stop(),
    ]);
  }
}
