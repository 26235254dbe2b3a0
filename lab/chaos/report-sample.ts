/**
 * A made-up ChaosReport with every kind of content the page shows: the three
 * systems on link-cut, failed and unmeasured trials, a scenario with no
 * trials, one whose target is on another figure, and hostile text. For the
 * report's tests and to preview the page; its numbers are invented.
 */
import { summarise, type ChaosReport, type ScenarioResult, type Target, type Trial } from './results.ts';

/** A deterministic spread of values around `base` (no randomness: tests compare output). */
function trialsAround(base: number, spread: number, n: number, failAt: readonly number[] = []): Trial[] {
  return Array.from({ length: n }, (_, i) => {
    const outageMs = base + (((i * 37) % 11) * spread) / 10;
    const fails = failAt.includes(i + 1);
    return {
      trial: i + 1,
      outageMs,
      figures: { pingGapMs: outageMs, tcpGapMs: outageMs + 12 },
      ok: !fails,
      invariants: [
        { name: 'exactly one node answers ARP', ok: !fails, detail: fails ? 'node-1, node-2' : 'node-2' },
        { name: 'traffic recovered', ok: true },
      ],
    };
  });
}

function scenario(
  id: string,
  title: string,
  system: string,
  target: Target,
  trials: Trial[],
  nodes = 3,
): ScenarioResult {
  return { id, title, system, nodes, target, trials, summary: summarise(trials, target) };
}

const LINK_CUT: Target = {
  figure: 'outageMs',
  p50: 200,
  p99: 300,
  text: 'p50 ≤ 200 ms, p99 ≤ 300 ms outage (ping)',
};

/** The sample report; `title` replaces the kill-9 scenario's title (tests pass hostile text through it). */
export function sampleReport(title = 'kill -9 of the announcing speaker'): ChaosReport {
  const unmeasured: Trial = {
    trial: 4,
    outageMs: null,
    ok: false,
    invariants: [{ name: 'traffic recovered', ok: false, detail: 'no ping reply for 10 s' }],
    note: 'the client lost its neighbour entry <incomplete>',
  };
  const cut = trialsAround(150, 90, 20);
  cut[3] = unmeasured;
  return {
    startedAt: '2026-11-26T10:00:00.000Z',
    finishedAt: '2026-11-26T10:12:31.000Z',
    meshlb: { version: '0.1.0', commit: 'abc1234' },
    machine: { cpus: 2, kernel: '6.1.0-28-amd64', node: 'v24.21.0' },
    command: 'meshlb chaos --nodes 3 --trials 20 --compare keepalived',
    scenarios: [
      scenario('link-cut', 'Link cut on the announcing node', 'meshlb', LINK_CUT, cut),
      scenario(
        'link-cut',
        'Link cut on the announcing node',
        'keepalived (1 s adverts)',
        LINK_CUT,
        trialsAround(3100, 600, 20),
      ),
      scenario(
        'link-cut',
        'Link cut on the announcing node',
        'keepalived (100 ms adverts)',
        LINK_CUT,
        trialsAround(340, 120, 20),
      ),
      scenario(
        'kill-9',
        title,
        'meshlb',
        { figure: 'outageMs', p99: 150, text: 'another node answers ARP within 150 ms (p99)' },
        trialsAround(110, 45, 20, [6]),
      ),
      scenario(
        'planned',
        'Planned hand-off (drain)',
        'meshlb',
        { figure: 'lostPings', max: 0, text: 'no ping lost (every echo of a ping every 10 ms answered)' },
        trialsAround(10, 8, 10, [7]).map((t) => ({
          ...t,
          figures: { ...t.figures, lostPings: t.ok ? 0 : 2 },
        })),
      ),
      scenario(
        'not-ready',
        'Node turns NotReady',
        'meshlb',
        { figure: 'tcpGapMs', p99: 400, text: 'TCP connects again within 400 ms (p99)' },
        trialsAround(200, 100, 10),
      ),
      scenario('loss', 'Packet loss on the mesh', 'meshlb', LINK_CUT, []),
    ],
  };
}
