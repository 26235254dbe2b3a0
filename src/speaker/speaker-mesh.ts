/**
 * The speaker's mesh, one part (clock/lifecycle.ts): the libp2p node, its
 * transport, the SWIM membership and the heirs' close watch, wired to the
 * speaker's claims and reconcile; and the joining of the speakers its view
 * knows. start() opens them in order; stop() stops them in the reverse order
 * (the leave before that is the hand-off's: handoff.ts).
 */
import { isIPv4 } from 'node:net';
import type { Startable } from '../clock/index.ts';
import type { ClusterView, Coalescer } from '../kube/world/index.ts';
import { PulseSocket } from '../arp/index.ts';
import {
  FastWatch,
  Membership,
  pulseIdOf,
  Pulses,
  type Endpoint,
  type MemberState,
  type PulseLink,
} from '../mesh/index.ts';
import { createMeshNode, Libp2pTransport, type MeshNode } from '../mesh/libp2p/index.ts';
import type { ClaimBook } from './claims.ts';
import type { SpeakerInit } from './speaker-init.ts';

export interface SpeakerMeshInit extends Pick<
  SpeakerInit,
  | 'clock'
  | 'log'
  | 'nodeName'
  | 'meshAddress'
  | 'meshPort'
  | 'pulsePort'
  | 'networkKey'
  | 'privateKey'
  | 'mesh'
  | 'watch'
> {
  /** Who may speak for which node (the transport checks senders against it). */
  view: ClusterView;
  claims: ClaimBook;
  /** Reconciles (after each change the mesh reports). */
  reconcile: Pick<Coalescer, 'request' | 'now'>;
  /** The speaker is leaving: it handles nothing more but the successors' claims. */
  leaving: () => boolean;
  /** A push-pull brought claims: whether that matters to a resync running (resync.ts heard()). */
  heard: () => boolean;
}

export class SpeakerMesh implements Startable {
  readonly #init: SpeakerMeshInit;
  #node: MeshNode | undefined;
  #transport: Libp2pTransport | undefined;
  #membership: Membership | undefined;
  #watch: FastWatch | undefined;
  #pulses: Pulses | undefined;
  /** Peer IDs already given to membership.join. */
  readonly #seeded = new Set<string>();
  #joined = false;

  constructor(init: SpeakerMeshInit) {
    this.#init = init;
  }

  get node(): MeshNode | undefined {
    return this.#node;
  }

  get transport(): Libp2pTransport | undefined {
    return this.#transport;
  }

  get membership(): Membership | undefined {
    return this.#membership;
  }

  get watch(): FastWatch | undefined {
    return this.#watch;
  }

  async start(): Promise<void> {
    if (this.#node !== undefined) return;
    const init = this.#init;
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
      authority: init.view.authority,
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
    const membership = this.#newMembership(transport);
    this.#membership = membership;
    const pulses = this.#openPulses(transport, membership);
    this.#pulses = pulses;
    const watch = new FastWatch({
      clock: init.clock,
      membership,
      config: init.watch,
      ...(pulses === undefined ? {} : { pulses }),
      probeHost: (node, timeoutMs, done) => {
        transport.probeHost(node, timeoutMs, done);
      },
    });
    this.#watch = watch;
    this.#listen(membership, watch);
    await transport.start({
      handle: (m, opts) => {
        // A member that left handles nothing more, but the hand-off waits for
        // the successors' claims: take them here (the transport has already
        // checked that the sender may speak for its node).
        if (init.leaving() && m.type === 'claims')
          init.claims.merge(m.claims.filter((c) => c.node === m.from));
        else membership.handle(m, opts);
      },
      hint: (n) => {
        init.log.debug({ member: n }, 'mesh: connection closed: checking the member now');
        membership.hint(n);
        watch.hint(n);
      },
      unreachable: (n) => {
        init.log.debug({ member: n }, 'mesh: member refused a connection');
        membership.unreachable(n);
      },
    });
    membership.start();
    pulses?.start();
  }

  /**
   * The pulse (mesh/pulse.ts) on the pulse port, or none: when the port is 0,
   * or cannot be opened (then loudly: the heirs check instead, slower).
   */
  #openPulses(transport: Libp2pTransport, membership: Membership): Pulses | undefined {
    const init = this.#init;
    if (init.pulsePort === undefined || init.pulsePort === 0) return undefined;
    const opts = {
      address: init.meshAddress,
      port: init.pulsePort,
      id: pulseIdOf(init.nodeName),
      intervalMs: init.watch.pulseIntervalMs,
      leaseMs: init.watch.pulseLeaseMs,
    };
    let link: PulseLink;
    try {
      link = new PulseSocket(opts);
    } catch (err) {
      init.log.warn(
        { err, port: init.pulsePort },
        'no pulse: its UDP port cannot be opened; heirs watch this node with checks only (failover takes ~165 ms instead of ~30 ms)',
      );
      return undefined;
    }
    const peer = (node: string) => transport.pulsePeer(node, membership.get(node)?.endpoint);
    return new Pulses({
      clock: init.clock,
      link,
      address: init.meshAddress,
      port: init.pulsePort,
      config: init.watch,
      peers: {
        members: () =>
          membership
            .members()
            .filter((m) => m.node !== init.nodeName)
            .map((m) => m.node),
        address: (node) => peer(node).address,
        key: (node) => peer(node).key,
      },
    });
  }

  get pulses(): Pulses | undefined {
    return this.#pulses;
  }

  /** The close watch, the pulse, the membership, the transport, the node: in the reverse order of start. */
  async stop(): Promise<void> {
    this.#watch?.stop();
    this.#pulses?.stop();
    this.#membership?.stop();
    await this.#transport?.stop();
    await this.#node?.stop();
  }

  #newMembership(transport: Libp2pTransport): Membership {
    const init = this.#init;
    return new Membership({
      node: init.nodeName,
      endpoint: transport.endpoint,
      clock: init.clock,
      transport,
      config: init.mesh,
      authority: init.view.authority,
      claims: {
        all: () => init.claims.all(),
        merge: (claims, _from, via) => {
          init.claims.merge(claims);
          if (via === 'push-pull' && init.heard()) init.reconcile.request();
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
  }

  #listen(membership: Membership, watch: FastWatch): void {
    const { log, reconcile } = this.#init;
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
      if (e.type === 'suspect') log.debug(fields, 'mesh: member suspected');
      else log.info(fields, `mesh: member ${e.type}`);
      if (e.type === 'suspect' || e.type === 'dead') watch.suspected(e.node);
      reconcile.request();
    });
    membership.onSynced((e) => {
      log.info({ via: e.via, from: e.from }, 'mesh synced: the standing claims are known');
      reconcile.request();
    });
    // A silence that ended with its pulses back (no verdict, or one withdrawn):
    // how long announcers' processes stall, the figure pulseStallMs is set by.
    this.#pulses?.onChange((n, event, agoMs) => {
      if (event === 'heard' && agoMs > 0)
        log.debug({ member: n, silentMs: Math.round(agoMs) }, 'pulse: heard again after a silence');
    });
    watch.onChange((n, failed, via) => {
      log.info(
        { member: n, ...(via === undefined ? {} : { via }) },
        failed ? 'close watch: announcer failed' : 'close watch: announcer answers again',
      );
      // A failed announcer's IPs are unanswered: decide now, not behind the rest of this turn's I/O.
      if (failed) reconcile.now();
      else reconcile.request();
    });
  }

  /** Joins the mesh once the speaker Pods are known, and joins speakers that appear later. */
  join(membership: Membership): void {
    const peers = this.#init.view.peers(this.#init.nodeName);
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
      this.#init.log.info(
        { seeds: seeds.map((s) => s.peerId) },
        this.#joined ? 'joining new speakers' : 'joining the mesh',
      );
      membership.join(seeds);
      this.#joined = true;
    }
  }

  /** Each member's state as the election sees it. */
  members(membership: Membership): Map<string, MemberState> {
    const members = new Map<string, MemberState>();
    for (const m of membership.members()) members.set(m.node, this.effectiveState(m));
    return members;
  }

  /**
   * A member's state as the election sees it: dead once this speaker's close
   * watch failed it; alive, whatever the mesh says, while this speaker (an
   * heir) hears its pulses. The mesh's verdict lags and can be wrong under
   * loss on one node's link (measured: 20% on an announcer's link, its SWIM
   * probes failed until it was declared dead, twice in 3 minutes, while its
   * pulses kept coming); a node that left is left.
   */
  effectiveState(m: { node: string; state: MemberState }): MemberState {
    const watch = this.#watch;
    if (watch === undefined) return m.state;
    if (watch.failed(m.node)) return 'dead';
    if ((m.state === 'suspect' || m.state === 'dead') && watch.hears(m.node)) return 'alive';
    return m.state;
  }
}
