// The chaos report as a person sees it: the page written to a file and opened
// in headless Chromium (Debian's chromium, installed by meshlb_ensure_chromium
// as root). The DOM Chromium built must hold the three plots with their marks,
// and a screenshot must show more than the page without them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { renderHtml } from '../../lab/chaos/index.ts';
import { sampleReport } from '../../lab/chaos/report-sample.ts';

const run = promisify(execFile);
const root = process.getuid?.() === 0;

async function which(cmd: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v ${cmd}`])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}
const chromium = await which('chromium');

/** Chromium's flags for a one-shot headless run in a container (no sandbox, no GPU, its own profile). */
const flags = (profile: string): string[] => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  `--user-data-dir=${profile}`,
  '--window-size=1200,3000',
];

function svgOf(dom: string, id: string): string | undefined {
  return new RegExp(`<svg [^>]*id="${id}"[\\s\\S]*?</svg>`).exec(dom)?.[0];
}

/** A PNG's width and height from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } | undefined {
  if (png.length < 24 || png.toString('latin1', 1, 4) !== 'PNG') return undefined;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const message =
  'chromium is not installed and this is not root (run as root: meshlb_ensure_chromium installs it)';
if (chromium === undefined && !root) console.warn(`chaos-report-browser: skipped: ${message}`);

(chromium === undefined && !root ? test.skip : test)(
  'chaos report: headless Chromium renders the three plots with their marks',
  async (t) => {
    if (chromium === undefined) {
      t.fail('chromium is missing although this is root: scripts/test runs meshlb_ensure_chromium');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'meshlb-report-'));
    try {
      const html = await renderHtml(sampleReport());
      const page = join(dir, 'report.html');
      await writeFile(page, html);
      const url = pathToFileURL(page).href;

      const { stdout: dom } = await run(chromium, [...flags(join(dir, 'p1')), '--dump-dom', url], {
        timeout: 120_000,
        maxBuffer: 64 << 20,
      });
      t.true(dom.includes('meshlb chaos report'), 'the page loaded');
      for (const id of ['plot-trials', 'plot-cdf', 'plot-compare']) {
        const svg = svgOf(dom, id);
        t.truthy(svg, `${id} is in the DOM`);
        t.true((svg ?? '').split('<path').length - 1 > 3, `${id} has marks`);
        t.true(dom.includes(`id="${id}-caption"`), `${id} has its caption`);
      }
      t.is((svgOf(dom, 'plot-compare') ?? '').split('aria-roledescription="bar"').length - 1, 6);

      // Screenshots: the page, then its three plots alone against the same page with no plot.
      // A blank page compresses to ~17 kB, the three plots to ~100 kB.
      const shot = async (name: string, body: string): Promise<Buffer> => {
        const file = join(dir, `${name}.html`);
        await writeFile(file, body);
        const png = join(dir, `${name}.png`);
        await run(chromium, [...flags(join(dir, name)), `--screenshot=${png}`, pathToFileURL(file).href], {
          timeout: 120_000,
        });
        return readFile(png);
      };
      const full = await shot('full', html);
      t.deepEqual(pngSize(full), { width: 1200, height: 3000 });
      t.true(full.length > 50_000, 'the page is not blank');
      const svgs = html.match(/<svg [\s\S]*?<\/svg>/g) ?? [];
      t.is(svgs.length, 3);
      const bare = (inner: string): string =>
        `<!DOCTYPE html><html><body style="margin:0;background:white">${inner}</body></html>`;
      const plots = await shot('plots', bare(svgs.join('')));
      const blank = await shot('blank', bare(''));
      t.log(`screenshots: page ${full.length} bytes, plots alone ${plots.length}, blank ${blank.length}`);
      t.true(plots.length > 4 * blank.length, 'the plots draw pixels');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
