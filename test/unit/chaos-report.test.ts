import test from 'ava';
import fc from 'fast-check';
import {
  cdf,
  comparison,
  escapeHtml,
  figureTitle,
  formatValue,
  renderHtml,
  renderSvg,
  summarise,
  type ChaosReport,
  type ScenarioResult,
  type Trial,
} from '../../lab/chaos/index.ts';
import { frontier, frontierPlot } from '../../lab/chaos/report-frontier.ts';
import { sampleReport } from '../../lab/chaos/report-sample.ts';

const PLOTS = ['plot-trials', 'plot-cdf', 'plot-compare'] as const;

/** The <svg> element with this id, whole (vega's SVG nests no other <svg>). */
function svgOf(html: string, id: string): string | undefined {
  return new RegExp(`<svg id="${id}"[\\s\\S]*?</svg>`).exec(html)?.[0];
}

/** Drawn marks: vega renders symbols, lines and bars as <path>, rules as <line>. */
const marks = (svg: string, role: string): number => svg.split(`aria-roledescription="${role}"`).length - 1;

function empty(scenarios: ScenarioResult[] = []): ChaosReport {
  return { ...sampleReport(), scenarios };
}

function scenario(id: string, system: string, outages: (number | null)[]): ScenarioResult {
  const target = { figure: 'outageMs', p99: 300, text: 'p99 ≤ 300 ms' };
  const trials: Trial[] = outages.map((outageMs, i) => ({
    trial: i + 1,
    outageMs,
    ok: outageMs !== null,
    invariants: [],
  }));
  return { id, title: id, system, nodes: 3, target, trials, summary: summarise(trials, target) };
}

test('the sample report renders: header, one table row per scenario, three plots with marks', async (t) => {
  const report = sampleReport();
  const html = await renderHtml(report);
  t.true(html.startsWith('<!DOCTYPE html>'));
  t.true(html.includes('meshlb chaos --nodes 3 --trials 20 --compare keepalived'));
  t.true(html.includes('0.1.0 (abc1234)'));
  t.true(html.includes('2 CPUs, Linux 6.1.0-28-amd64, Node.js v24.21.0'));
  t.true(html.includes('(12 min 31 s)'));
  const rows = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  t.is(rows.split('<tr>').length - 1, report.scenarios.length);
  // met: ✓ for not-ready (p99 ≤ 400 ms), ✗ for link-cut (an unmeasured trial), – for the scenario with no trials
  t.true(html.includes('title="met">✓'));
  t.true(html.includes('title="not met">✗'));
  t.true(html.includes('title="nothing to judge">–'));
  t.true(html.includes('19 of 20'));

  for (const id of PLOTS) {
    const svg = svgOf(html, id);
    t.truthy(svg, id);
    t.true((svg ?? '').includes('<path'), `${id} has path marks`);
    t.true(html.includes(`<figcaption id="${id}-caption">`), `${id} has a caption`);
  }
  const trials = svgOf(html, 'plot-trials') ?? '';
  const measured = report.scenarios.flatMap((s) => s.trials).filter((x) => x.outageMs !== null).length;
  t.is(marks(trials, 'circle'), measured, 'one circle per measured trial');
  t.true(trials.includes('aria-roledescription="rule mark container"'));
  t.true(html.includes('1 trial(s) without a measurement are not shown'));

  const cdfSvg = svgOf(html, 'plot-cdf') ?? '';
  const withData = report.scenarios.filter((s) => s.trials.some((x) => x.outageMs !== null)).length;
  t.is(marks(cdfSvg, 'line mark'), withData, 'one CDF line per scenario and system');
  t.is(marks(cdfSvg, 'point'), measured, 'a point per measured trial');
  t.true(cdfSvg.includes('keepalived (1 s adverts)'), 'CDF legend names the systems');

  const compare = svgOf(html, 'plot-compare') ?? '';
  t.is(marks(compare, 'bar'), 6, 'p50 and p99 for each of the three systems');
  t.regex(compare, /×\d+/, 'ratios written on the bars');
  t.true(html.includes('keepalived (1 s adverts): p50 ×'), 'and in the caption');
  t.true(html.includes('id="failures"'));
  t.true(html.includes('the client lost its neighbour entry &lt;incomplete&gt;'));
});

test('the page loads nothing: no script, no external reference', async (t) => {
  const html = await renderHtml(sampleReport());
  t.false(/<script/i.test(html));
  t.false(/<link|<img|<iframe|\ssrc=|\shref=|url\(/i.test(html));
  t.false(/https?:\/\/(?!www\.w3\.org\/)/.test(html), 'no URL but the SVG namespaces');
});

test('text is escaped: a title with <script> comes out as text, in the table and in the plots', async (t) => {
  const html = await renderHtml(sampleReport('kill -9 <script>alert("x")</script> & co'));
  t.false(/<script/i.test(html));
  t.true(html.includes('kill -9 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'));
  t.true((svgOf(html, 'plot-trials') ?? '').includes('&lt;script&gt;'), 'the facet header too');
});

test('no text from the report can open a tag', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), async (a, b) => {
      const evil = `<x-evil ${a}"'&>${b}`;
      const base = sampleReport(evil);
      const report: ChaosReport = {
        ...base,
        command: evil,
        meshlb: { version: evil, commit: evil },
        machine: { ...base.machine, kernel: evil, node: evil },
        startedAt: evil,
        scenarios: base.scenarios.map((s) => ({
          ...s,
          system: s.id === 'link-cut' ? s.system : evil,
          target: { ...s.target, text: evil },
          trials: s.trials.map((x) => ({
            ...x,
            ok: false,
            note: evil,
            invariants: [{ name: evil, ok: false, detail: evil }],
          })),
        })),
      };
      const html = await renderHtml(report);
      t.false(html.includes('<x-evil'));
    }),
    { numRuns: 15 },
  );
});

test('empty and partial data render without throwing', async (t) => {
  const cases: [string, ChaosReport][] = [
    ['no scenarios', empty()],
    ['a scenario with no trials', empty([scenario('loss', 'meshlb', [])])],
    [
      'all outages null',
      empty([scenario('link-cut', 'meshlb', [null, null]), scenario('kill-9', 'meshlb', [null])]),
    ],
    ['link-cut without meshlb', empty([scenario('link-cut', 'keepalived (1 s adverts)', [3000, 3200])])],
    ['meshlb alone on link-cut', empty([scenario('link-cut', 'meshlb', [120])])],
  ];
  for (const [name, report] of cases) {
    const html = await renderHtml(report);
    t.true(html.includes('</html>'), name);
    for (const id of PLOTS) t.true(html.includes(`id="${id}"`), `${name}: ${id} present`);
  }
  const none = await renderHtml(empty());
  t.true(none.includes('No scenario ran.'));
  t.is(svgOf(none, 'plot-trials'), undefined);
  t.true(none.includes('nothing to plot'));
  const alone = await renderHtml(cases[4]?.[1] ?? empty());
  t.is(marks(svgOf(alone, 'plot-compare') ?? '', 'bar'), 2);
  t.notRegex(svgOf(alone, 'plot-compare') ?? '', /×/);
});

test('comparison: ratios of p50 and p99 to meshlb on link-cut', (t) => {
  const report = empty([
    scenario('link-cut', 'meshlb', [100, 200]),
    scenario('link-cut', 'keepalived (1 s adverts)', [3000, 3200]),
    scenario('kill-9', 'keepalived (1 s adverts)', [1]),
  ]);
  t.deepEqual(comparison(report), [
    { system: 'meshlb', p50: 100, p99: 200, p50Ratio: 1, p99Ratio: 1 },
    { system: 'keepalived (1 s adverts)', p50: 3000, p99: 3200, p50Ratio: 30, p99Ratio: 16 },
  ]);
  t.deepEqual(comparison(empty([scenario('link-cut', 'keepalived (1 s adverts)', [5])])), [
    { system: 'keepalived (1 s adverts)', p50: 5, p99: 5, p50Ratio: null, p99Ratio: null },
  ]);
});

test('frontier: link-cut p99 against false failovers per hour of loss, one point per system; drawn', async (t) => {
  const loss = (id: string, system: string, falseFailovers: number, lossMinutes: number): ScenarioResult => {
    const target = { figure: 'falseFailovers', max: 0, text: 'zero false failovers' };
    const trials: Trial[] = [
      { trial: 1, outageMs: null, figures: { falseFailovers, lossMinutes }, ok: true, invariants: [] },
    ];
    return { id, title: id, system, nodes: 3, target, trials, summary: summarise(trials, target) };
  };
  const report = empty([
    scenario('link-cut', 'meshlb', [40, 60]),
    loss('loss', 'meshlb', 0, 10),
    loss('loss-one', 'meshlb', 0, 10),
    scenario('link-cut', 'keepalived (10 ms adverts)', [50, 57]),
    loss('loss', 'keepalived (10 ms adverts)', 6, 3),
    scenario('link-cut', 'keepalived (1 s adverts)', [3000]), // no loss run: no point
  ]);
  t.deepEqual(frontier(report), [
    { system: 'meshlb', outageP99: 60, perHour: 0, minutes: 20 },
    { system: 'keepalived (10 ms adverts)', outageP99: 57, perHour: 120, minutes: 3 },
  ]);
  const html = await renderHtml(report);
  t.is(marks(svgOf(html, 'plot-frontier') ?? '', 'point'), 2);
  t.regex(html, /keepalived \(10 ms adverts\): 57 ms, 120\.0\/h/);
  t.regex((await frontierPlot(empty([]))).caption, /nothing to plot/);
});

test('cdf: ascending values with the fraction at or below each', (t) => {
  t.deepEqual(cdf([30, 10, 20, 20]), [
    { value: 10, fraction: 0.25 },
    { value: 20, fraction: 0.5 },
    { value: 20, fraction: 0.75 },
    { value: 30, fraction: 1 },
  ]);
  t.deepEqual(cdf([]), []);
});

test('escapeHtml', (t) => {
  t.is(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('renderSvg: the id on the root <svg>; a spec that loads data is refused, not fetched', async (t) => {
  const values = [{ a: 1 }, { a: 2 }];
  const spec = {
    data: { values },
    mark: 'point',
    encoding: { x: { field: 'a', type: 'quantitative' } },
  } as const;
  const svg = await renderSvg(spec, 'plot-x');
  t.true(svg.startsWith('<svg id="plot-x" '));
  t.is(svg.split('aria-roledescription="point"').length - 1, 2);
  const err = await t.throwsAsync(
    renderSvg({ ...spec, data: { url: 'http://127.0.0.1:9/data.json' } }, 'plot-y'),
  );
  t.is(err.name, 'PlotRenderError');
  t.regex(err.message, /asked to load http:\/\/127\.0\.0\.1:9\/data\.json/);
});

test('figures: names ending in Ms are milliseconds, others counts', (t) => {
  t.is(figureTitle('outageMs'), 'outage (ms)');
  t.is(figureTitle('settledAfterHealMs'), 'settled after heal (ms)');
  t.is(figureTitle('lostPings'), 'lost pings (count)');
  t.is(formatValue(420.4, 'outageMs'), '420 ms');
  t.is(formatValue(8.46, 'tcpGapMs'), '8.5 ms');
  t.is(formatValue(2, 'lostPings'), '2');
  t.is(formatValue(2.25, 'lostPings'), '2.3');
  t.is(formatValue(null, 'lostPings'), '–');
});

test('a scenario judged on a count shows counts in the table and names the figure on its panel', async (t) => {
  const html = await renderHtml(sampleReport());
  const planned = /<tr><td><span class="title">Planned hand-off[\s\S]*?<\/tr>/.exec(html)?.[0] ?? '';
  t.regex(planned, /<td class="num">0<\/td><td class="num">2<\/td><td class="num">2<\/td>/);
  t.true(planned.includes('judged on: lost pings (count)'));
  const trials = svgOf(html, 'plot-trials') ?? '';
  t.true(trials.includes('lost pings (count)'));
  t.true(trials.includes('outage (ms; or as titled)'));
});
