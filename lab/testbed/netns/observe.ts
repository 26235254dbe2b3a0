import { createInterface } from 'node:readline';
import type { Host, Lan } from './lan.ts';

/** The client's neighbour entry for an IP got this MAC at `t` (wall-clock ms, from `ip -ts`). */
export interface NeighbourMove {
  t: number;
  mac: string;
}

/** A running observation: `list` grows as lines come in (the caller may empty it); stop() ends it. */
export interface Observation<T> {
  readonly list: T[];
  stop(): void;
}

// [2026-11-25T09:56:23.964220] 198.51.100.9 dev eth0 lladdr 02:… STALE (machine time zone: UTC)
const NEIGH_LINE = /^\[([\d-]+T[\d:]+)\.(\d{6})\] (\S+) .*lladdr (\S+)/;
// [1764064583.964220] 64 bytes from 198.51.100.9: icmp_seq=1 ttl=64 time=0.05 ms
const REPLY_LINE = /^\[(\d+\.\d+)\] \d+ bytes from/;

/**
 * Watches the neighbour table of `host` (`ip -ts monitor neigh` on its eth0) and lists
 * every change of the entry for `ip` that carries a MAC, with its time.
 */
export function watchNeighbours(lan: Lan, host: Host, ip: string): Observation<NeighbourMove> {
  const list: NeighbourMove[] = [];
  const monitor = lan.spawn(host, ['ip', '-ts', 'monitor', 'neigh', 'dev', host.ifname]);
  createInterface({ input: monitor.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const m = NEIGH_LINE.exec(line);
    if (m?.[3] === ip) list.push({ t: Date.parse(`${m[1] ?? ''}Z`) + Number(m[2]) / 1000, mac: m[4] ?? '' });
  });
  return { list, stop: () => monitor.kill() };
}

/**
 * Pings `ip` from `host` every `intervalS` seconds (`ping -D`, one-second reply timeout)
 * and lists the time of every echo reply (wall-clock ms, as ping stamped it).
 */
export function pingReplies(lan: Lan, host: Host, ip: string, intervalS: number): Observation<number> {
  const list: number[] = [];
  const ping = lan.spawn(host, ['ping', '-D', '-n', '-i', String(intervalS), '-W', '1', ip]);
  createInterface({ input: ping.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const m = REPLY_LINE.exec(line);
    if (m !== null) list.push(Number(m[1]) * 1000);
  });
  return { list, stop: () => ping.kill('SIGINT') };
}

// [1764064583.964220] 64 bytes from 198.51.100.9: icmp_seq=17 ttl=64 time=0.05 ms
const SEQ_LINE = /^\[(\d+\.\d+)\] \d+ bytes from .* icmp_seq=(\d+)/;

/** One echo reply: when it came (wall-clock ms, as ping stamped it) and its sequence number. */
export interface EchoReply {
  t: number;
  seq: number;
}

/**
 * As pingReplies, with sequence numbers: a missing number is a lost echo
 * (request or reply), which a late reply (a busy client) is not.
 */
export function pingEchoes(lan: Lan, host: Host, ip: string, intervalS: number): Observation<EchoReply> {
  const list: EchoReply[] = [];
  const ping = lan.spawn(host, ['ping', '-D', '-n', '-i', String(intervalS), '-W', '1', ip]);
  createInterface({ input: ping.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const m = SEQ_LINE.exec(line);
    if (m !== null) list.push({ t: Number(m[1]) * 1000, seq: Number(m[2]) });
  });
  return { list, stop: () => ping.kill('SIGINT') };
}

/** Echoes lost between the replies at indexes `from - 1` and the last: missing sequence numbers, in all and in the longest run. */
export function lostEchoes(
  replies: readonly EchoReply[],
  from: number,
): { lost: number; longestRun: number } {
  const seqs = replies.slice(Math.max(0, from - 1)).map((r) => r.seq);
  let lost = 0;
  let longestRun = 0;
  for (let i = 1; i < seqs.length; i++) {
    const run = Math.max(0, (seqs[i] ?? 0) - (seqs[i - 1] ?? 0) - 1);
    lost += run;
    longestRun = Math.max(longestRun, run);
  }
  return { lost, longestRun };
}

/**
 * The longest time between two consecutive replies from the last one before index
 * `from` (the number of replies seen before the event) up to time `to` (ms).
 */
export function longestGap(replies: readonly number[], from: number, to: number): number {
  const window = replies.slice(Math.max(0, from - 1)).filter((r) => r <= to);
  return Math.max(...window.slice(1).map((r, k) => r - (window[k] ?? r)));
}

/**
 * arping from `from`: the MACs that replied, one per reply. One request a
 * second (iputils arping takes whole seconds only); with -w it stops once
 * `count` replies came, or after count + 1 s.
 */
export async function arping(lan: Lan, from: Host, ip: string, count = 2): Promise<string[]> {
  const argv = ['arping', '-c', String(count), '-w', String(count + 1), '-I', from.ifname, ip];
  const r = await lan.exec(from, argv);
  return [...r.stdout.matchAll(/\[([0-9a-f:]{17})\]/gi)].map((m) => (m[1] ?? '').toLowerCase());
}

/**
 * Who answers for `ip`, asked from `from`: arping (IPv4, `probes` requests) or
 * ndisc6 (IPv6, `probes` + 1 solicitations); the answering hosts' names, or
 * the MAC where it is no host of the LAN. Two probes show a second answerer:
 * arping stops at its count of replies.
 */
export async function answeringHosts(lan: Lan, from: Host, ip: string, probes = 1): Promise<string[]> {
  const macs = ip.includes(':')
    ? await ndisc(lan, from, ip, probes + 1)
    : await arping(lan, from, ip, probes);
  return [...new Set(macs.map((m) => lan.hostOfMac(m)?.name ?? m))];
}

/** ndisc6 from `from`: the MAC in the neighbour advertisement for `ip`, if one came (up to `tries` solicitations, 500 ms apart). */
export async function ndisc(lan: Lan, from: Host, ip: string, tries = 2): Promise<string[]> {
  const r = await lan.exec(from, ['ndisc6', '-r', String(tries), '-w', '500', ip, from.ifname]);
  return [...r.stdout.matchAll(/link-layer address\s*:\s*([0-9a-f:]{17})/gi)].map((m) =>
    (m[1] ?? '').toLowerCase(),
  );
}
