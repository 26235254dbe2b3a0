/**
 * The chaos scenarios: each injects one fault into a steady lab, measures
 * what the client saw, checks the invariants, and puts the lab back.
 * Targets are issue 8's (docs/chaos.md).
 */
import type { ClusterLab } from '../testbed/lab/index.ts';
import { announcers, crashCheck, holder, oneAnswer, plannedOutage, settle, trialOf } from './checks.ts';
import { aliveSeenBy, allReady, answering, until, watchFault } from './measure.ts';
import type { InvariantCheck, ScenarioResult, Trial } from './results.ts';

export interface Scenario {
  id: string;
  title: string;
  target: ScenarioResult['target'];
  /** One trial on a steady lab; leaves the lab as it found it (or throws). */
  trial(lab: ClusterLab, ip: string, n: number, opts: ScenarioOptions): Promise<Trial>;
}

/** Durations of the long scenarios (the figures by default; shorter for tests). */
export interface ScenarioOptions {
  /** How long the 5% loss lasts (default 10 min). */
  lossMs: number;
  /** How long the rival controller fights (default 60 s). */
  warMs: number;
  /** How long the speakers are without the API server in api-down; the link is cut halfway (default 60 s). */
  apiDownMs: number;
}

export const SCENARIO_DEFAULTS: ScenarioOptions = Object.freeze({
  lossMs: 600_000,
  warMs: 60_000,
  apiDownMs: 60_000,
});

export const CORE_SCENARIOS: readonly Scenario[] = [
  {
    id: 'link-cut',
    title: "announcer node's link cut",
    target: { figure: 'outageMs', p50: 200, p99: 300, text: 'p50 ≤ 200 ms, p99 ≤ 300 ms outage (ping)' },
    async trial(lab, ip, n) {
      const victim = await holder(lab, ip);
      const w = await watchFault(lab, ip, victim, () => lab.cutLink(victim), { waitForMove: true });
      const inv = await oneAnswer(lab, ip, [victim]);
      inv.push(crashCheck(lab, []));
      await lab.restoreLink(victim);
      await settle(lab, ip);
      // Claims are sticky: the node back on the LAN must not win the IP back on the stale
      // view it brings (it believes the others dead until they refute; see its resync).
      const after = await holder(lab, ip);
      inv.push({
        name: 'the returning node took nothing back',
        ok: after !== victim,
        detail: `held by ${after}`,
      });
      return {
        ...trialOf(n, w.recovered ? w.pingGapMs : undefined, w, inv, `cut ${victim}`),
        // The cut node cannot answer, and back on the LAN it must not answer for
        // the IP that moved meanwhile: never two answers (speaker.ts, held links).
        doubleAnswerBoundMs: 0,
      };
    },
  },
  {
    id: 'kill-9',
    title: 'announcer speaker kill -9',
    target: { figure: 'outageMs', p99: 150, text: 'another node answers ARP within 150 ms (p99)' },
    async trial(lab, ip, n) {
      const victim = await holder(lab, ip);
      const w = await watchFault(
        lab,
        ip,
        victim,
        async () => {
          await lab.signalSpeaker(victim, 'SIGKILL');
        },
        { waitForMove: true },
      );
      const inv = await oneAnswer(lab, ip, [victim]);
      inv.push(crashCheck(lab, [victim]));
      lab.startSpeaker(victim);
      await settle(lab, ip);
      return trialOf(n, w.neighbourMovedMs, w, inv, `killed ${victim}'s speaker`);
    },
  },
  {
    id: 'not-ready',
    title: 'Node marked NotReady (status patch)',
    target: { figure: 'outageMs', p99: 300, text: 'traffic on the new node ≤ 300 ms after the status patch' },
    async trial(lab, ip, n) {
      const victim = await holder(lab, ip);
      const w = await watchFault(lab, ip, victim, () => lab.setReady(victim, false), { waitForMove: true });
      const inv = await oneAnswer(lab, ip, [victim]);
      inv.push(crashCheck(lab, []));
      await lab.setReady(victim, true);
      await settle(lab, ip);
      return trialOf(n, w.servedElsewhereMs, w, inv, `${victim} NotReady`);
    },
  },
  {
    id: 'planned',
    title: 'cordon with hand-off, then SIGTERM (planned)',
    target: { figure: 'lostPings', max: 0, text: 'no ping lost (every echo of a ping every 10 ms answered)' },
    async trial(lab, ip, n) {
      const victim = await holder(lab, ip);
      let exit: string | undefined;
      const w = await watchFault(
        lab,
        ip,
        victim,
        async () => {
          await lab.cordon(victim, true);
          // The hand-off on cordon is make-before-break; SIGTERM once the IP moved.
          await until(
            async () => ((await answering(lab, ip)).some((x) => x !== victim) ? true : undefined),
            10_000,
          );
          exit = await lab.signalSpeaker(victim, 'SIGTERM');
        },
        { waitForMove: true },
      );
      const inv = await oneAnswer(lab, ip, [victim]);
      inv.push({
        name: 'the speaker exited 0 on SIGTERM',
        ok: exit === '0',
        detail: exit ?? 'still running',
      });
      inv.push(crashCheck(lab, [victim]));
      await lab.cordon(victim, false);
      lab.startSpeaker(victim);
      await settle(lab, ip);
      return trialOf(n, w.recovered ? plannedOutage(w) : undefined, w, inv, `cordoned and stopped ${victim}`);
    },
  },
  {
    id: 'sigstop',
    title: 'announcer speaker SIGSTOP (a hung process)',
    target: { figure: 'outageMs', p99: 300, text: 'another node answers ARP within 300 ms (p99)' },
    async trial(lab, ip, n) {
      const victim = await holder(lab, ip);
      const w = await watchFault(
        lab,
        ip,
        victim,
        async () => {
          await lab.signalSpeaker(victim, 'SIGSTOP');
        },
        { waitForMove: true },
      );
      const inv = await oneAnswer(lab, ip, [victim]);
      inv.push(crashCheck(lab, []));
      await lab.signalSpeaker(victim, 'SIGCONT');
      await settle(lab, ip);
      return trialOf(n, w.neighbourMovedMs, w, inv, `stopped ${victim}'s speaker`);
    },
  },
  {
    id: 'rolling',
    title: 'rolling restart of every speaker (SIGTERM, start, ready, next)',
    target: { figure: 'lostPings', max: 0, text: 'no ping lost (every echo of a ping every 10 ms answered)' },
    async trial(lab, ip, n) {
      const first = await holder(lab, ip);
      const exits: string[] = [];
      const w = await watchFault(lab, ip, first, async () => {
        for (const node of lab.nodes.map((h) => h.name)) {
          exits.push(`${node}: ${(await lab.signalSpeaker(node, 'SIGTERM')) ?? 'running'}`);
          lab.startSpeaker(node);
          if (
            (await until(async () => ((await allReady(lab, [node])) ? true : undefined), 30_000, 100)) !==
            true
          )
            throw new Error(`${node}'s speaker did not become ready again (logs: ${lab.dir})`);
        }
      });
      const inv = await oneAnswer(lab, ip, []);
      inv.push({
        name: 'every speaker exited 0 on SIGTERM',
        ok: exits.every((e) => e.endsWith(': 0')),
        detail: exits.join(', '),
      });
      inv.push(crashCheck(lab, []));
      await settle(lab, ip);
      return trialOf(
        n,
        w.recovered ? plannedOutage(w) : undefined,
        w,
        inv,
        'every speaker restarted in turn',
      );
    },
  },
  {
    id: 'partition',
    title: 'mesh partition (half | half) and heal',
    target: {
      figure: 'settledAfterHealMs',
      max: 1_000,
      text: 'one announcer per IP ≤ 1 s after the heal',
    },
    async trial(lab, ip, n) {
      const names = lab.nodes.map((h) => h.name);
      const half = Math.ceil(names.length / 2);
      const [a, b] = [names.slice(0, half), names.slice(half)];
      await lab.partition(a, b);
      // Each side sees the other dead before the heal (the fault has taken hold).
      const split = await until(
        async () => {
          for (const node of names) {
            const alive = await aliveSeenBy(lab, node);
            const side = a.includes(node) ? a.length : b.length;
            if (alive !== side) return undefined;
          }
          return true;
        },
        20_000,
        200,
      );
      await lab.heal();
      const healedAt = Date.now();
      // Exactly one speaker (the same one) announces the IP in every poll for
      // 500 ms; it has been alone since the last other speaker withdrew (by
      // that speaker's clock), or since the heal if none did after it.
      let alone: { node: string; since: number; seen: number } | undefined;
      const settledAt = await until(
        async () => {
          const { holders, lastWithdrawnAt, silent } = await announcers(lab, ip);
          const now = Date.now();
          // A speaker that did not answer may still announce: not alone yet.
          const one = holders.length === 1 && silent === 0 ? holders[0] : undefined;
          if (one === undefined) alone = undefined;
          else if (alone?.node !== one)
            alone = { node: one, since: Math.min(now, Math.max(healedAt, lastWithdrawnAt)), seen: now };
          return alone !== undefined && now - alone.seen >= 500 ? alone.since : undefined;
        },
        15_000,
        20,
      );
      const inv: InvariantCheck[] = [
        { name: 'the partition took hold (each side saw the other dead)', ok: split === true },
        { name: 'one announcer after the heal', ok: settledAt !== undefined },
        ...(await oneAnswer(lab, ip, [])),
        crashCheck(lab, []),
      ];
      await settle(lab, ip);
      const settled = settledAt === undefined ? undefined : Math.max(0, settledAt - healedAt);
      return {
        trial: n,
        outageMs: null,
        figures: settled === undefined ? {} : { settledAfterHealMs: settled },
        ok: settled !== undefined && inv.every((i) => i.ok),
        invariants: inv,
        note: `${a.join(',')} | ${b.join(',')}`,
        // The client reaches both halves, and each announces (the other is dead to it):
        // two answers until the heal are the fault itself; the bound counts from the heal.
        answersJudgedFrom: healedAt,
      };
    },
  },
  {
    id: 'api-down',
    title: 'API server unreachable for a while, the announcer node’s link cut in the middle of it',
    target: {
      figure: 'outageMs',
      p50: 200,
      p99: 300,
      text: 'the link-cut target still holds: p50 ≤ 200 ms, p99 ≤ 300 ms',
    },
    async trial(lab, ip, n, opts) {
      const victim = await holder(lab, ip);
      await lab.apiReachable(false);
      const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms)); // the outage's length
      await wait(opts.apiDownMs / 2);
      const w = await watchFault(lab, ip, victim, () => lab.cutLink(victim), { waitForMove: true });
      const inv = await oneAnswer(lab, ip, [victim]);
      inv.push(crashCheck(lab, []));
      await wait(Math.max(0, opts.apiDownMs / 2 - (Date.now() - w.faultAt)));
      await lab.restoreLink(victim);
      await lab.apiReachable(true);
      await settle(lab, ip);
      const s = (opts.apiDownMs / 1000).toFixed(0);
      return trialOf(
        n,
        w.recovered ? w.pingGapMs : undefined,
        w,
        inv,
        `API unreachable ${s} s, cut ${victim}`,
      );
    },
  },
];
