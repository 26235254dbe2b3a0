import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock/index.ts';
import { arpFilter, ETHERTYPE_ARP, ETHERTYPE_IPV6, ndpFilter } from './codec/index.ts';
import type { WireConfig } from './config.ts';
import { LinkMonitor, type LinkMonitorEvent } from './link-monitor.ts';
import type { Link, LinkAnswers } from './link.ts';
import { interfaceInfo, PacketSocket, type Frame } from './packet-socket.ts';
import { Responder } from './responder.ts';
import type { WireEvent } from './responder-types.ts';

export interface WireInit {
  /** Interfaces to answer on. One that does not exist yet is picked up when it appears. */
  interfaces: readonly string[];
  config?: Partial<WireConfig>;
  clock?: Clock;
  onEvent?: (e: WireEvent) => void;
  log?: Logger;
  /** Another speaker's node by MAC (see ResponderInit.peerOf). */
  peerOf?: (mac: string) => string | undefined;
  /** Hold a link that comes back up until responder.release (see ResponderInit.holdOnLinkUp). */
  holdOnLinkUp?: boolean;
  /**
   * Answer the plain requests in the packet sockets' own threads (default
   * true; PacketSocketOptions.answerInThread). false: every answer goes
   * through the event loop, as before (bench/wire-latency.ts compares).
   */
  answerInThread?: boolean;
}

/** The two packet sockets of one interface, as a Link. */
class SocketLink implements Link {
  readonly name: string;
  readonly mac: string;
  readonly #arp: PacketSocket;
  readonly #ndp: PacketSocket;
  readonly #threaded: boolean;

  constructor(arp: PacketSocket, ndp: PacketSocket, threaded: boolean) {
    this.name = arp.ifname;
    this.mac = arp.mac;
    this.#arp = arp;
    this.#ndp = ndp;
    this.#threaded = threaded;
  }

  send(frame: Uint8Array): void {
    this.#arp.send(frame); // a raw socket sends any EtherType; the frame carries its own
  }

  join(mac: string): void {
    this.#ndp.join(mac);
  }

  leave(mac: string): void {
    this.#ndp.leave(mac);
  }

  answer(tables: LinkAnswers): void {
    if (!this.#threaded) return; // every answer goes through the responder
    this.#arp.answer(tables.v4);
    this.#ndp.answer(tables.v6);
  }

  stats(): { received: number; dropped: number } {
    const a = this.#arp.stats();
    const n = this.#ndp.stats();
    return { received: a.received + n.received, dropped: a.dropped + n.dropped };
  }

  close(): void {
    this.#arp.close();
    this.#ndp.close();
  }
}

/**
 * The responder on real interfaces: per interface an ARP socket and an IPv6
 * socket, each with a kernel filter so only ARP and NS/NA frames reach
 * JavaScript, and a netlink monitor that tells the responder when a link goes
 * down or up, appears, disappears or changes its MAC (no rescanning on a
 * timer). `start()` throws PacketSocketPermissionError without CAP_NET_RAW.
 */
export class Wire {
  readonly responder: Responder;
  readonly #interfaces: ReadonlySet<string>;
  readonly #log: Logger | undefined;
  readonly #links = new Map<string, SocketLink>();
  /** `${index} ${address}` of every address on an interface of this node (any interface). */
  readonly #addresses = new Set<string>();
  readonly #onEvent: ((e: WireEvent) => void) | undefined;
  readonly #answerInThread: boolean;
  #monitor: LinkMonitor | undefined;

  constructor(init: WireInit) {
    this.#interfaces = new Set(init.interfaces);
    this.#answerInThread = init.answerInThread ?? true;
    this.#log = init.log;
    this.#onEvent = init.onEvent;
    this.responder = new Responder({
      clock: init.clock ?? systemClock,
      ...(init.peerOf === undefined ? {} : { peerOf: init.peerOf }),
      ...(init.config === undefined ? {} : { config: init.config }),
      holdOnLinkUp: init.holdOnLinkUp ?? false,
      onEvent: (e) => {
        this.#logEvent(e);
        init.onEvent?.(e);
      },
    });
  }

  start(): void {
    if (this.#monitor !== undefined) return;
    // Open what exists now, so a missing capability fails here, loudly.
    for (const name of this.#interfaces) {
      let info;
      try {
        info = interfaceInfo(name);
      } catch (err) {
        if ((err as Error).name !== 'InterfaceNotFoundError') throw err;
        this.#log?.warn({ ifname: name }, 'interface not found; waiting for it to appear');
        continue;
      }
      this.#open(name, info.index, info.up && info.running);
    }
    this.#monitor = new LinkMonitor({
      onEvent: (e) => {
        this.#onLink(e);
      },
      onError: (err) => this.#log?.warn({ err }, 'link monitor'),
    });
    this.#monitor.start();
  }

  /** Withdraws everything and closes every socket. */
  stop(): void {
    this.#monitor?.stop();
    this.#monitor = undefined;
    this.responder.stop();
    for (const name of [...this.#links.keys()]) this.#close(name);
  }

  /** The MACs of the interfaces it answers on now (lower case), for the speaker's identity. */
  /** The interfaces it answers on (their packet sockets are open), sorted. */
  interfaces(): string[] {
    return [...this.#links.keys()].sort();
  }

  macs(): string[] {
    return [...new Set([...this.#links.values()].map((l) => l.mac.toLowerCase()))].sort();
  }

  /** Packet-socket counters per interface (frames the filter passed, and kernel queue drops). */
  socketStats(): Map<string, { received: number; dropped: number }> {
    return new Map([...this.#links].map(([n, l]) => [n, l.stats()]));
  }

  #open(name: string, ifindex: number, up: boolean): void {
    const deliver = (frames: Frame[]): void => {
      for (const f of frames) this.responder.receive(name, f);
    };
    const onError = (err: Error): void => {
      // ENETDOWN while the link is down: frames resume when it is up again.
      this.#log?.debug({ err, ifname: name }, 'packet socket receive error');
    };
    // The filters also drop frames of upper devices (VLANs, macvlans) that a socket bound
    // to this interface would otherwise see untagged (docs/wire.md).
    const open = (ethertype: number, filter: Buffer): PacketSocket =>
      PacketSocket.open({
        ifname: name,
        ethertype,
        filter,
        onFrames: deliver,
        onError,
        answerInThread: this.#answerInThread,
      });
    const arp = open(ETHERTYPE_ARP, arpFilter({ ifindex }));
    let ndp: PacketSocket;
    try {
      ndp = open(ETHERTYPE_IPV6, ndpFilter({ ifindex }));
    } catch (err) {
      arp.close();
      throw err;
    }
    const link = new SocketLink(arp, ndp, this.#answerInThread);
    this.#links.set(name, link);
    this.responder.addLink(link, up);
    this.#log?.info({ ifname: name, mac: link.mac, up }, 'answering on interface');
  }

  #close(name: string): void {
    this.responder.removeLink(name);
    this.#links.get(name)?.close();
    this.#links.delete(name);
  }

  /**
   * The addresses on this node's interfaces, any interface (not only those it
   * answers on): an IPv4 service IP among them is answered by the kernel too,
   * unless arp_ignore says otherwise (kube-proxy's IPVS mode puts every
   * LoadBalancer IP on kube-ipvs0).
   */
  localAddresses(): Set<string> {
    return new Set([...this.#addresses].map((k) => k.slice(k.indexOf(' ') + 1)));
  }

  #onLink(e: LinkMonitorEvent): void {
    if (e.kind === 'address') {
      const key = `${e.index} ${e.address}`;
      const changed = e.action === 'new' ? !this.#addresses.has(key) : this.#addresses.has(key);
      if (e.action === 'new') this.#addresses.add(key);
      else this.#addresses.delete(key);
      if (changed) this.#onEvent?.({ type: 'addresses' });
      return;
    }
    if (e.name === undefined || !this.#interfaces.has(e.name)) return;
    const name = e.name;
    const current = this.#links.get(name);
    if (e.action === 'del') {
      if (current !== undefined) this.#log?.warn({ ifname: name }, 'interface removed');
      this.#close(name);
      return;
    }
    const up = e.up && e.running;
    if (current !== undefined && e.mac !== undefined && e.mac !== current.mac) {
      this.#log?.info({ ifname: name, from: current.mac, to: e.mac }, 'interface MAC changed');
      this.#close(name); // reopened below with the new MAC; the responder bursts again
    }
    if (!this.#links.has(name)) {
      try {
        this.#open(name, e.index, up);
      } catch (err) {
        this.#log?.error({ err, ifname: name }, 'cannot open packet sockets');
      }
      return;
    }
    this.responder.setLinkUp(name, up);
  }

  #logEvent(e: WireEvent): void {
    const log = this.#log;
    if (log === undefined) return;
    switch (e.type) {
      case 'announcing':
        log.info({ ip: e.ip, ifname: e.ifname, probed: e.probed }, 'announcing');
        return;
      case 'withdrawn':
        log.info({ ip: e.ip, ifname: e.ifname }, 'withdrawn');
        return;
      case 'conflict':
        log.warn(
          { ip: e.ip, ifname: e.ifname, foreignMac: e.foreignMac, evidence: e.evidence },
          'another host uses an announced IP',
        );
        return;
      case 'send-failed':
        log.warn({ err: e.error, ifname: e.ifname }, 'could not send');
        return;
      case 'peer-answer':
        log.info(
          { ip: e.ip, ifname: e.ifname, node: e.node, mac: e.mac },
          'another speaker answers for an announced IP too (claims settling)',
        );
        return;
      case 'link':
        if (e.up) log.info({ ifname: e.ifname }, 'link up');
        else log.warn({ ifname: e.ifname }, 'link down');
        return;
      case 'addresses':
        return; // the speaker checks them (kernel-answers.ts)
    }
  }
}
