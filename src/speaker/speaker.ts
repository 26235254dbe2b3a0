import { join } from 'node:path';
import type { Logger } from 'pino';
import { Wire } from '../arp/index.ts';
import { startAll, stopAll, stopOnly, type Startable } from '../clock/index.ts';
import { AnnouncementWriter } from '../kube/announcements/index.ts';
import { EventRecorder } from '../kube/events.ts';
import { ClusterView, Coalescer } from '../kube/world/index.ts';
import { BALANCE_SLACK } from '../election/index.ts';
import type { FastWatch, Membership, Pulses } from '../mesh/index.ts';
import type { Libp2pTransport } from '../mesh/libp2p/index.ts';
import { Announcer, type LastDecisions } from './announcer.ts';
import { ClaimBook } from './claims.ts';
import { Handoff } from './handoff.ts';
import { IdentityPublisher } from './identity-publisher.ts';
import { KernelReport } from './kernel-report.ts';
import { LOCAL_TRAFFIC_WAIT_MS, LocalTrafficGate } from './local-traffic.ts';
import type { Held } from './plan.ts';
import { Reachability } from './reachability.ts';
import { REBALANCE_INTERVAL_MS, RebalancePacer } from './rebalance.ts';
import { Resync } from './resync.ts';
import { restoreIfUnsynced, SAVED_VIEW_FILE, ViewSaver } from './saved-view.ts';
import { debugView, summaryView, type SpeakerParts } from './speaker-debug.ts';
import type { SpeakerInit } from './speaker-init.ts';
import { SpeakerMesh } from './speaker-mesh.ts';
import { wireEvents } from './wire-events.ts';

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
 *
 * It is a list of parts (clock/lifecycle.ts), started in order and stopped
 * in the reverse order; each owns the timers it arms.
 */
export class Speaker {
  readonly view: ClusterView;
  readonly wire: Wire;
  readonly writer: AnnouncementWriter;
  readonly claims: ClaimBook;
  readonly #init: SpeakerInit;
  readonly #log: Logger;
  /** One reconcile per turn of the event loop, whatever asked for it. */
  readonly #reconcile: Coalescer;
  readonly #mesh: SpeakerMesh;
  /** Decides and acts; holds what the node answers for (announcer.ts). */
  readonly #announcer: Announcer;
  /** The leave (handoff.ts); started, the speaker acts on its decisions (`acting`). */
  readonly #handoff: Handoff;
  /** Publishes the identity on the Pod (identity-publisher.ts). */
  readonly #identity: IdentityPublisher;
  /** Aborts the speaker's own API requests in flight (identity, reachability probes) on stop(). */
  readonly #requests = new AbortController();
  /** The parts, in start order (stopped in the reverse order). */
  readonly #parts: readonly Startable[];
  #leaving = false;

  constructor(init: SpeakerInit) {
    this.#init = init;
    this.#log = init.log;
    const request = (): void => {
      this.#reconcile.request();
    };
    this.#reconcile = new Coalescer(() => {
      this.#step();
    });
    const reachability = new Reachability({
      clock: init.clock,
      ...(init.isolation === undefined ? {} : { isolation: init.isolation }),
      probe: (timeoutMs) => init.kube.get('/version', { timeoutMs, signal: this.#requests.signal }),
      onProbed: request,
    });
    const localTraffic = new LocalTrafficGate({
      clock: init.clock,
      waitMs: init.localTrafficWaitMs ?? LOCAL_TRAFFIC_WAIT_MS,
      onChange: request,
      log: init.log,
      onResult: (result, ms) => init.observer?.localTrafficWait(result, ms / 1_000),
    });
    const rebalance = new RebalancePacer({
      clock: init.clock,
      intervalMs: init.rebalanceIntervalMs ?? REBALANCE_INTERVAL_MS,
      reconcile: request,
    });
    this.claims = new ClaimBook(request, (rivals) => {
      this.#announcer.reannounce(rivals, this.#leaving);
    });
    const saver =
      init.stateDir === undefined
        ? undefined
        : new ViewSaver({
            file: join(init.stateDir, SAVED_VIEW_FILE),
            clock: init.clock,
            log: init.log,
            take: () => this.view.saved(init.clock.wallNow()),
          });
    this.view = new ClusterView({
      kube: init.kube,
      clock: init.clock,
      namespace: init.namespace,
      onChange: () => {
        // Saved once every list has succeeded (view.saved() is undefined before:
        // a restored view is never written back).
        saver?.changed();
        this.#reconcile.request();
      },
      log: init.log,
      balanceSlack: init.balanceSlack === 'off' ? undefined : (init.balanceSlack ?? BALANCE_SLACK),
    });
    const events = new EventRecorder({
      kube: init.kube,
      clock: init.clock,
      instance: init.podName,
      controller: 'meshlb.io/speaker',
      log: init.log,
    });
    const resync = new Resync({
      clock: init.clock,
      log: init.log,
      reconnectIntervalMs: init.mesh.reconnectIntervalMs,
      onChange: request,
    });
    this.#identity = new IdentityPublisher({
      ...init,
      ...(init.identityRetryMs === undefined ? {} : { retryMs: init.identityRetryMs }),
      endpoint: () => this.#mesh.transport?.endpoint,
      wire: () => ({ macs: this.wire.macs(), interfaces: this.wire.interfaces() }),
      onPublished: request,
      signal: this.#requests.signal,
    });
    this.wire = new Wire({
      interfaces: init.interfaces,
      config: init.wire,
      clock: init.clock,
      log: init.log,
      // A link back up stays silent until the resync has brought the claims
      // made while it was down (the announcer releases it): answering at once made two
      // MACs answer for ~0.4 s after a cut healed (issue 16 item 11).
      holdOnLinkUp: true,
      onEvent: wireEvents({
        ...init,
        claims: this.claims,
        events,
        identity: this.#identity,
        resync,
        services: (ip) => this.#announcer.services.get(ip) ?? [],
        reconcile: request,
      }),
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
    const kernel = new KernelReport({
      ...init,
      events,
      nodeUid: () => this.view.node(init.nodeName)?.metadata?.uid,
      answered: (ips) => init.observer?.kernelAnswered(ips),
      signal: this.#requests.signal,
    });
    this.#mesh = new SpeakerMesh({
      ...init,
      view: this.view,
      claims: this.claims,
      reconcile: this.#reconcile,
      leaving: () => this.#leaving,
      heard: () => resync.heard(),
    });
    this.#announcer = new Announcer({
      ...init,
      view: this.view,
      mesh: this.#mesh,
      claims: this.claims,
      wire: this.wire,
      writer: this.writer,
      kernel,
      localTraffic,
      rebalance,
      reachability,
      resync,
      reconcile: request,
      handedOff: () => {
        this.#handoff.handedOff();
      },
    });
    this.#handoff = new Handoff({
      clock: init.clock,
      log: init.log,
      timeoutMs: init.handoffTimeoutMs,
      mesh: this.#mesh,
      announcer: this.#announcer,
      reconcile: this.#reconcile,
      wire: this.wire,
    });
    // Stopped in the reverse order: first what only serves the reconcile (its
    // timers and requests), then the leave (hand-off), then the rest.
    this.#parts = [
      // Opens the packet sockets first: without CAP_NET_RAW it fails early and loudly.
      this.wire,
      stopOnly(() => {
        this.#reconcile.stop();
      }),
      this.#mesh,
      this.writer,
      {
        start: () => this.#startView(),
        stop: () => this.view.stop(),
      },
      this.#handoff,
      kernel,
      localTraffic,
      rebalance,
      reachability,
      stopOnly(() => {
        this.#requests.abort(new Error('speaker stopped'));
      }),
      ...(saver === undefined ? [] : [saver]),
      resync,
      this.#identity,
    ];
  }

  get membership(): Membership | undefined {
    return this.#mesh.membership;
  }

  get fastWatch(): FastWatch | undefined {
    return this.#mesh.watch;
  }

  get transport(): Libp2pTransport | undefined {
    return this.#mesh.transport;
  }

  /** The pulse (mesh/pulse.ts); undefined when off or its port could not be opened. */
  get pulses(): Pulses | undefined {
    return this.#mesh.pulses;
  }

  get peerId(): string | undefined {
    return this.#mesh.node?.peerId.toString();
  }

  /** The IPs this node answers for. */
  get held(): ReadonlyMap<string, Held> {
    return this.#announcer.held;
  }

  /** The last reconcile's World and decisions (undefined before the first). */
  get lastDecisions(): LastDecisions | undefined {
    return this.#announcer.last;
  }

  /**
   * Starts the parts in order: opens the packet sockets (throws
   * PacketSocketPermissionError without CAP_NET_RAW: fail early and loudly),
   * starts the mesh and the watches, and publishes the identity. Readiness
   * follows (readiness()). If any step fails, what the earlier ones opened is
   * closed before the error is thrown.
   */
  async start(): Promise<void> {
    try {
      await startAll(this.#parts);
    } catch (err) {
      this.#leaving = true; // as after stop(): not ready, and nothing more to stop
      throw err;
    }
    this.#log.info(
      { peerId: this.peerId, endpoint: this.#mesh.transport?.endpoint, interfaces: this.#init.interfaces },
      'speaker started',
    );
  }

  /** The view's informers, then the saved view if their lists failed (saved-view.ts). */
  async #startView(): Promise<void> {
    await this.view.start();
    const dir = this.#init.stateDir;
    if (dir !== undefined)
      await restoreIfUnsynced(this.view, join(dir, SAVED_VIEW_FILE), this.#init.clock, this.#log);
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
    const peerId = this.peerId;
    return (
      this.#identity.published ||
      this.view.fromSavedView ||
      (peerId !== undefined && this.view.authority.maySpeakFor(peerId, this.#init.nodeName))
    );
  }

  /** Why the speaker is not ready, or an empty list. */
  notReady(): NotReady[] {
    if (this.#leaving) return ['stopping'];
    if (!this.#handoff.acting) return ['starting'];
    const out: NotReady[] = [];
    if (!this.view.synced) out.push('caches not synced');
    if (!this.#identityKnown) out.push('identity not published');
    if (this.#mesh.membership?.synced !== true) out.push('mesh not synced');
    return out;
  }

  /** One reconcile, once the speaker acts and its caches and the mesh are synced (announcer.ts). */
  #step(): void {
    const membership = this.#mesh.membership;
    const watch = this.#mesh.watch;
    if (!this.#handoff.acting || membership === undefined || watch === undefined || !this.view.synced) return;
    if (!this.#leaving && this.#identityKnown) this.#mesh.join(membership);
    if (!membership.synced && !this.#leaving) return;
    this.#announcer.step(membership, watch, this.#leaving);
  }

  get #debugParts(): SpeakerParts {
    return {
      nodeName: this.#init.nodeName,
      mesh: this.#mesh,
      announcer: this.#announcer,
      claims: this.claims,
      wire: this.wire,
    };
  }

  /** What it announces and whom it sees in which state, for /debug/summary (speaker-debug.ts). */
  summary(): object {
    return summaryView(this.#debugParts);
  }

  /** The speaker's state for /debug/mesh and `meshlb status` / `meshlb explain`. */
  debug(): object {
    return debugView(this.#debugParts, this.notReady());
  }

  /**
   * Stops the parts in the reverse order. With `handoff` (SIGTERM): leaves the
   * mesh so the successors take over at once, keeps answering until each IP
   * is claimed by a successor (at most handoffTimeoutMs), then withdraws what
   * is left and closes everything (handoff.ts).
   */
  async stop(opts: { handoff?: boolean } = {}): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#handoff.handoff = opts.handoff === true;
    await stopAll(this.#parts).catch((err: unknown) => {
      this.#log.warn({ err }, 'stopping: a part of the speaker failed to stop');
    });
  }
}
