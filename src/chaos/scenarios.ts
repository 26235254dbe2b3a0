/**
 * The chaos scenarios: each injects one fault into a steady lab, measures
 * what the client saw, checks the invariants, and puts the lab back.
 * Targets are issue 8's (docs/chaos.md).
 */
import type { ClusterLab } from '../testbed/lab/index.ts';
import { answering, steady, until, watchFault, type FaultWindow } from './measure.ts';
import type { InvariantCheck, ScenarioResult, Trial } from './results.ts';

export interface Scenario {
  id: string;
  title: string;
  target: ScenarioResult['target'];
  /** One trial on a steady lab; leaves the lab as it found it (or throws). */
  trial(lab: ClusterLab, ip: string, n: number): Promise<Trial>;
}

/**
 * The invariants every trial checks once traffic recovered: exactly one node
 * answers ARP for the IP, and not one that may not announce it — allowing a
 * bounded window (ONE_ANSWER_WINDOW_MS) for two answers while claims settle,
 * which is measured and reported.
 */
const ONE_ANSWER_WINDOW_MS = 3_000;

async function oneAnswer(lab: ClusterLab, ip: string, notFrom: readonly string[]): Promise<InvariantCheck[]> {
  const start = Date.now();
  let who: string[] = [];
  const settled = await until(
    async () => {
      who = await answering(lab, ip, 2);
      return who.length === 1 ? true : undefined;
    },
    ONE_ANSWER_WINDOW_MS,
    0,
  );
  const waited = Date.now() - start;
  return [
    {
      name: 'exactly one node answers ARP',
      ok: settled === true,
      detail: `${who.join(', ') || 'nobody'}${waited > 1_500 ? ` (after ${waited} ms of more than one or no answer)` : ''}`,
    },
    {
      name: 'not from a node that may not announce',
      ok: who.every((w) => !notFrom.includes(w)),
      detail: `answered by ${who.join(', ') || 'nobody'}; excluded ${notFrom.join(', ')}`,
    },
  ];
}

function crashCheck(lab: ClusterLab, except: readonly string[]): InvariantCheck {
  const crashed = [...lab.speakers].filter(([n, c]) => !except.includes(n) && c.exited() !== undefined);
  return {
    name: 'no speaker crashed',
    ok: crashed.length === 0,
    detail: crashed.map(([n, c]) => `${n}: ${c.exited() ?? ''}`).join(', ') || 'none',
  };
}

function trialOf(
  n: number,
  outageMs: number | undefined,
  w: FaultWindow,
  invariants: InvariantCheck[],
  note?: string,
): Trial {
  const figures: Record<string, number> = { pingGapMs: w.pingGapMs, tcpGapMs: w.tcpGapMs };
  if (w.servedElsewhereMs !== undefined) figures.servedElsewhereMs = w.servedElsewhereMs;
  if (w.neighbourMovedMs !== undefined) figures.neighbourMovedMs = w.neighbourMovedMs;
  const all = [...invariants, { name: 'traffic recovered', ok: w.recovered }];
  const t: Trial = {
    trial: n,
    outageMs: outageMs ?? null,
    figures,
    ok: outageMs !== undefined && all.every((i) => i.ok),
    invariants: all,
  };
  if (note !== undefined) t.note = note;
  return t;
}

/** Waits for the lab to settle again after a trial; throws if it does not (the run stops: later trials would be wrong). */
async function settle(lab: ClusterLab, ip: string): Promise<void> {
  if ((await steady(lab, ip, 60_000)) === undefined)
    throw new Error(`the lab did not settle after the trial (logs: ${lab.dir})`);
}

export const SCENARIOS: readonly Scenario[] = [
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
      return trialOf(n, w.recovered ? w.pingGapMs : undefined, w, inv, `cut ${victim}`);
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
    target: { figure: 'outageMs', max: 20, text: 'no ping lost: no gap over 20 ms' },
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
      return trialOf(n, w.recovered ? w.pingGapMs : undefined, w, inv, `cordoned and stopped ${victim}`);
    },
  },
];

/** The node answering for `ip` now (the lab is steady). */
async function holder(lab: ClusterLab, ip: string): Promise<string> {
  const who = await until(async () => {
    const w = await answering(lab, ip);
    return w.length === 1 ? w[0] : undefined;
  }, 10_000);
  if (who === undefined) throw new Error(`no single node answers for ${ip}`);
  return who;
}
