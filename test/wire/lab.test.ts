import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const root = process.getuid?.() === 0;

// The README's first command, end to end: control plane + LAN + ARP/NDP exchange.
(root ? test : test.skip)(
  'meshlb lab --once: every host answers ARP and NDP with its own MAC, and the Service IP fails over',
  async (t) => {
    const { stdout } = await promisify(execFile)(process.execPath, [main, 'lab', '--once', '--hosts', '2'], {
      timeout: 120_000,
    });
    const rows = stdout.split('\n').filter((l) => /^\s+h\d\s/.test(l));
    t.is(rows.length, 2, stdout);
    for (const row of rows) {
      const macs = row.match(/[0-9a-f]{2}(?::[0-9a-f]{2}){5}/g) ?? [];
      t.is(macs.length, 3, row); // ARP reply, NDP reply, the host's own MAC
      t.is(new Set(macs).size, 1, row);
    }
    t.regex(stdout, /service\/web\s+LoadBalancer\s+\S+\s+198\.51\.100\.10,/);
    t.regex(stdout, /node\/h1\s+Ready/);
    // The failover: the first announcer's MAC before, the heir's after.
    const picks = /the ranking picks (h\d), then (h\d)/.exec(stdout);
    t.truthy(picks, stdout);
    const macOf = (h: string): string | undefined =>
      new RegExp(`^\\s+${h}\\s.*?([0-9a-f]{2}(?::[0-9a-f]{2}){5})\\s*$`, 'm').exec(stdout)?.[1];
    const [first, second] = [macOf(picks?.[1] ?? ''), macOf(picks?.[2] ?? '')];
    t.regex(stdout, new RegExp(`before: ARP reply from ${first ?? 'x'}, NDP reply from ${first ?? 'x'}`));
    t.regex(stdout, new RegExp(`after: the client's neighbour entry is ${second ?? 'x'},`));
  },
);
