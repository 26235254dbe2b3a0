/**
 * What every chaos scenario checks and measures around its fault: one answer
 * for the IP (within a bounded, reported window), no crashed speaker, the
 * trial record, and waiting for the lab to settle again.
 */
import type { ClusterLab } from '../testbed/lab/index.ts';
import { answering, steady, until, type FaultWindow } from './measure.ts';
import type { InvariantCheck, Trial } from './results.ts';

/**
 * The invariants every trial checks once traffic recovered: exactly one node
 * answers ARP for the IP, and not one that may not announce it — allowing a
 * bounded window (ONE_ANSWER_WINDOW_MS) for two answers while claims settle,
 * which is measured and reported.
 */
const ONE_ANSWER_WINDOW_MS = 3_000;

export async function oneAnswer(
  lab: ClusterLab,
  ip: string,
  notFrom: readonly string[],
): Promise<InvariantCheck[]> {
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

export function crashCheck(lab: ClusterLab, except: readonly string[]): InvariantCheck {
  const crashed = [...lab.speakers].filter(([n, c]) => !except.includes(n) && c.exited() !== undefined);
  return {
    name: 'no speaker crashed',
    ok: crashed.length === 0,
    detail: crashed.map(([n, c]) => `${n}: ${c.exited() ?? ''}`).join(', ') || 'none',
  };
}

export function trialOf(
  n: number,
  outageMs: number | undefined,
  w: FaultWindow,
  invariants: InvariantCheck[],
  note?: string,
): Trial {
  const figures: Record<string, number> = {
    pingGapMs: w.pingGapMs,
    lostPings: w.lostPings,
    tcpGapMs: w.tcpGapMs,
  };
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

/**
 * The outage of a planned change: 0 when no echo was lost (a longer gap
 * between replies is then the client's own scheduling on a busy machine, not
 * the network), else the longest gap.
 */
export const plannedOutage = (w: FaultWindow): number => (w.lostPings === 0 ? 0 : w.pingGapMs);

/** Waits for the lab to settle again after a trial; throws if it does not (the run stops: later trials would be wrong). */
export async function settle(lab: ClusterLab, ip: string): Promise<void> {
  if ((await steady(lab, ip, 60_000)) === undefined)
    throw new Error(`the lab did not settle after the trial (logs: ${lab.dir})`);
  // The client re-learns who answers: a node that answered for a moment after
  // the trial (a returning node's brief double answer) can leave the client's
  // entry on its MAC, and then the next fault moves nothing the client sees.
  await lab.lan.exec(lab.client, ['ip', 'neigh', 'del', ip, 'dev', lab.client.ifname]);
}

/**
 * The speakers announcing `ip` now, from their own /debug/summary (`silent`:
 * how many did not answer, and count as not announcing), and when the last of the
 * others stopped answering for it by its own clock (wall ms; 0 if none ever
 * did): the moment a hand-over ended, which the poll itself learns only when
 * its slowest answer comes back.
 */
export async function announcers(
  lab: ClusterLab,
  ip: string,
): Promise<{ holders: string[]; lastWithdrawnAt: number; silent: number }> {
  const holders: string[] = [];
  let lastWithdrawnAt = 0;
  let silent = 0;
  await Promise.all(
    lab.nodes.map(async (h) => {
      const r = await lab.http.get(lab.speakerUrl(h.name, '/debug/summary'), 500);
      if (r.status !== 200) {
        silent++;
        return;
      }
      const d = JSON.parse(r.body) as { announcing: string[]; withdrawnAt?: Record<string, number> };
      if (d.announcing.includes(ip)) holders.push(h.name);
      else lastWithdrawnAt = Math.max(lastWithdrawnAt, d.withdrawnAt?.[ip] ?? 0);
    }),
  );
  return { holders: holders.sort(), lastWithdrawnAt, silent };
}

/** The node answering for `ip` now (the lab is steady). */
export async function holder(lab: ClusterLab, ip: string): Promise<string> {
  const who = await until(async () => {
    const w = await answering(lab, ip);
    return w.length === 1 ? w[0] : undefined;
  }, 10_000);
  if (who === undefined) throw new Error(`no single node answers for ${ip}`);
  return who;
}
