import type { Registry } from 'prom-client';
import type { Wire } from '../arp/wire.ts';
import type { Responder, WireStats } from '../arp/index.ts';
import { byLabel, mirroredCounter, oncePerTurn, type Labels } from './mirror.ts';

/** What the wire metrics read: the responder's counters and the packet sockets' (a Wire has both). */
export type WireSource = Pick<Wire, 'socketStats'> & { responder: Pick<Responder, 'stats'> };

type Protocol = 'protocol';
const perProtocol = (c: { arp: number; ndp: number }): [Labels<Protocol>, number][] => [
  [{ protocol: 'arp' }, c.arp],
  [{ protocol: 'ndp' }, c.ndp],
];

/**
 * The ARP/NDP responder's metrics (docs/metrics.md): requests received,
 * replies, gratuitous frames, probes, conflicts, send errors, ignored frames
 * by reason (Responder.stats()), and per interface the frames the kernel
 * filters passed and the kernel's queue drops (Wire.socketStats()). All are
 * counters mirrored at scrape time.
 */
export function registerWireMetrics(registry: Registry, wire: WireSource): void {
  const stats = oncePerTurn((): WireStats => wire.responder.stats());
  const sockets = oncePerTurn(() => [...wire.socketStats()]);
  mirroredCounter(registry, {
    name: 'meshlb_wire_requests_total',
    help: 'ARP requests and neighbour solicitations that passed the kernel filter, answered or not.',
    labelNames: ['protocol'],
    read: () => perProtocol(stats().requests),
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_replies_total',
    help: 'ARP replies and neighbour advertisements sent in answer to a request for an announced IP.',
    labelNames: ['protocol'],
    read: () => perProtocol(stats().answered),
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_gratuitous_total',
    help: 'Gratuitous ARP requests and unsolicited neighbour advertisements sent (takeover bursts and refreshes).',
    labelNames: ['protocol'],
    read: () => perProtocol(stats().announcements),
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_gratuitous_bursts_total',
    help: 'Bursts of gratuitous frames started (an IP announced, or an interface back up).',
    labelNames: ['protocol'],
    read: () => perProtocol(stats().bursts),
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_probes_total',
    help: 'ARP probes and DAD solicitations sent before first announcing an IP.',
    read: () => [[{}, stats().probes]],
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_conflicts_total',
    help: 'Sightings of a foreign MAC (not a meshlb speaker) using an announced IP (reported, not fought).',
    read: () => [[{}, stats().conflicts]],
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_peer_answers_total',
    help: 'Sightings of another meshlb speaker answering for an announced IP (claims settling).',
    read: () => [[{}, stats().peerAnswers]],
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_send_errors_total',
    help: 'Frames the packet sockets failed to send.',
    read: () => [[{}, stats().sendErrors]],
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_ignored_frames_total',
    help: 'Received frames that led to nothing, by reason (not ours, other host, own, malformed, RFC 4861 violations, a link back up not released yet).',
    labelNames: ['reason'],
    read: () => byLabel('reason', stats().dropped),
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_received_frames_total',
    help: "Frames the kernel filters passed to meshlb's packet sockets, per interface.",
    labelNames: ['interface'],
    read: () => sockets().map(([ifname, s]) => [{ interface: ifname }, s.received] as const),
  });
  mirroredCounter(registry, {
    name: 'meshlb_wire_kernel_drops_total',
    help: "Frames dropped because a packet socket's receive queue was full (the kernel's, or the addon thread's queue to JavaScript), per interface.",
    labelNames: ['interface'],
    read: () => sockets().map(([ifname, s]) => [{ interface: ifname }, s.dropped] as const),
  });
}
