import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const main = fileURLToPath(new URL('../../lab/cli/main.ts', import.meta.url));
const root = process.getuid?.() === 0;

// The README's first command, end to end: control plane, controller and real
// speakers on a namespace LAN; the announcer's cable pulled, another node serves.
(root ? test : test.skip)(
  'meshlb lab --once: the speakers announce every Service IP, and a pulled cable moves one to another node',
  async (t) => {
    const { stdout } = await promisify(execFile)(process.execPath, [main, 'lab', '--once', '--nodes', '3'], {
      timeout: 240_000,
    });
    t.log(stdout);
    // Three dual-stack Services, each address answered by one node.
    t.is(stdout.match(/^lab: service \w+: \S+ → h\d, \S+ → h\d$/gm)?.length, 3, stdout);
    const before = /curl http:\/\/(\S+)\/ from the client: served by (h\d)/.exec(stdout);
    const cut = /failover: (h\d)'s cable is pulled/.exec(stdout);
    t.truthy(before);
    t.is(before?.[2], cut?.[1], 'the node that served is the one whose cable is pulled');
    const after = /^lab: {3}(h\d) answers now; outage (\d+) ms/m.exec(stdout);
    t.truthy(after, stdout);
    t.not(after?.[1], cut?.[1]);
    t.true(Number(after?.[2]) < 2_000, `outage ${after?.[2] ?? ''} ms`);
    t.regex(stdout, new RegExp(`^lab: {3}curl .* served by ${after?.[1] ?? 'x'}$`, 'm'));
  },
);
