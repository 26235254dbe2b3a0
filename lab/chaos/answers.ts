/**
 * The "one answer" invariant, checked continuously: the client asks who-has
 * for the Service IP every PROBE_INTERVAL_MS from a packet socket (arping
 * takes whole seconds only) and records every reply with its MAC. Two MACs
 * answering one request means two nodes announce the IP; the longest such
 * stretch in a trial is reported and bounded.
 */
import {
  buildArpFrame,
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  parseArpFrame,
  ZERO_MAC,
} from '../../src/arp/codec/index.ts';
import type { ClusterLab } from '../testbed/lab/index.ts';
import { PacketAgent } from '../testbed/packet-agent/index.ts';
import type { InvariantCheck } from './results.ts';

export const PROBE_INTERVAL_MS = 20;
/**
 * Two answers are tolerated this long in one stretch (claims settling after a
 * heal or a race); longer is a failed invariant. Same bound as the check after
 * each fault (checks.ts).
 */
export const DOUBLE_ANSWER_BOUND_MS = 3_000;

export interface ArpAnswer {
  /** Wall-clock ms when the client's agent reported it. */
  t: number;
  mac: string;
}

/**
 * Stretches of time in which more than one MAC answered: answers are grouped
 * by probe round (PROBE_INTERVAL_MS wide); consecutive rounds with two or more
 * MACs form one stretch, from its first to its last answer. Pure.
 */
export function doubleAnswers(
  answers: readonly ArpAnswer[],
  roundMs = PROBE_INTERVAL_MS,
): { from: number; to: number; macs: string[] }[] {
  const rounds = new Map<number, Set<string>>();
  for (const a of answers) {
    const r = Math.floor(a.t / roundMs);
    const set = rounds.get(r) ?? new Set<string>();
    set.add(a.mac);
    rounds.set(r, set);
  }
  const out: { from: number; to: number; macs: string[] }[] = [];
  let cur: { from: number; to: number; macs: Set<string>; last: number } | undefined;
  for (const r of [...rounds.keys()].sort((a, b) => a - b)) {
    const macs = rounds.get(r) as Set<string>;
    if (macs.size < 2) continue;
    if (cur !== undefined && r <= cur.last + 2) {
      cur.to = (r + 1) * roundMs;
      cur.last = r;
      for (const m of macs) cur.macs.add(m);
    } else {
      if (cur !== undefined) out.push({ from: cur.from, to: cur.to, macs: [...cur.macs].sort() });
      cur = { from: r * roundMs, to: (r + 1) * roundMs, macs: new Set(macs), last: r };
    }
  }
  if (cur !== undefined) out.push({ from: cur.from, to: cur.to, macs: [...cur.macs].sort() });
  return out;
}

/** How much of a two-answer stretch counts when two answers count from `judgedFrom` (wall-clock ms). */
export const judgedLength = (s: { from: number; to: number }, judgedFrom: number): number =>
  Math.max(0, s.to - Math.max(s.from, judgedFrom));

export class AnswerWatch {
  readonly #agent: PacketAgent;
  readonly #lab: ClusterLab;
  readonly #ip: string;
  readonly #timer: NodeJS.Timeout;

  private constructor(lab: ClusterLab, ip: string, agent: PacketAgent, request: string) {
    this.#lab = lab;
    this.#ip = ip;
    this.#agent = agent;
    this.#timer = setInterval(() => {
      agent.op('send', { name: 'arp', hex: request }).catch(() => undefined);
    }, PROBE_INTERVAL_MS);
  }

  /** Starts asking for `ip` (IPv4) from the lab's client. */
  static async start(lab: ClusterLab, ip: string): Promise<AnswerWatch> {
    const agent = await PacketAgent.start(lab.lan, lab.client);
    await agent.op('open', { name: 'arp', ifname: 'eth0', ethertype: ETHERTYPE_ARP });
    const c = lab.client;
    const request = buildArpFrame(
      { op: 'request', senderMac: c.mac, senderIp: c.ipv4, targetMac: ZERO_MAC, targetIp: ip },
      { dst: BROADCAST_MAC, src: c.mac },
    ).toString('hex');
    return new AnswerWatch(lab, ip, agent, request);
  }

  /** Replies for the IP received since `from` (wall-clock ms). */
  answersSince(from: number): ArpAnswer[] {
    const out: ArpAnswer[] = [];
    for (const e of this.#agent.events) {
      if (e.event !== 'frames' || e.t === undefined || e.t < from) continue;
      for (const f of e.frames ?? []) {
        try {
          const { arp } = parseArpFrame(Buffer.from(f.hex, 'hex'));
          if (arp.op === 'reply' && arp.senderIp === this.#ip) out.push({ t: e.t, mac: arp.senderMac });
        } catch {
          // not an ARP frame we can read: not an answer
        }
      }
    }
    return out;
  }

  /**
   * The check and the figures for a trial that started at `from`; what came
   * before is forgotten. Two answers count from `judgedFrom` (see
   * Trial.answersJudgedFrom): a stretch that began earlier counts from there,
   * and its whole length is reported as doubleAnswerInFaultMs. `boundMs`:
   * Trial.doubleAnswerBoundMs.
   */
  checkSince(
    from: number,
    judgedFrom = from,
    boundMs = DOUBLE_ANSWER_BOUND_MS,
  ): { check: InvariantCheck; doubleAnswerMs: number; doubleAnswerInFaultMs?: number } {
    const stretches = doubleAnswers(this.answersSince(from));
    const events = this.#agent.events;
    const keep = events.findIndex((e) => e.t !== undefined && e.t >= from);
    events.splice(0, keep < 0 ? events.length : keep);
    const judged = stretches.map((s) => judgedLength(s, judgedFrom));
    const longest = Math.max(0, ...judged);
    const whole = Math.max(0, ...stretches.map((s) => s.to - s.from));
    const names = (macs: string[]): string => macs.map((m) => this.#lab.nodeOfMac(m) ?? m).join(' and ');
    const lifted = judgedFrom > from;
    const after = lifted ? ' after the fault was lifted' : '';
    const describe = (s: { from: number; to: number; macs: string[] }, i: number): string =>
      `${names(s.macs)} for ${s.to - s.from} ms` + (lifted ? ` (${judged[i] ?? 0} ms of it${after})` : '');
    return {
      doubleAnswerMs: longest,
      ...(lifted ? { doubleAnswerInFaultMs: whole } : {}),
      check: {
        name:
          boundMs === 0
            ? `at most one MAC answers ARP in every ${PROBE_INTERVAL_MS} ms round${after} (watched throughout)`
            : `at most one MAC answers ARP, but for stretches ≤ ${boundMs} ms${after} (watched throughout)`,
        ok: longest <= boundMs, // a stretch is at least one round long
        detail: stretches.length === 0 ? 'never two' : stretches.map(describe).join('; '),
      },
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#agent.stop();
  }
}
