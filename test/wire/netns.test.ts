import { execFileSync } from 'node:child_process';
import anyTest, { type TestFn } from 'ava';
import { createLan, sweepStale, type Host, type Lan } from '../../lab/testbed/netns/index.ts';
import { waitFor } from '../helpers/wait.ts';

const test = anyTest as TestFn<{ lan: Lan }>;
const root = process.getuid?.() === 0;

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '');
}

/** One ARP request from the client; the replying MAC, or undefined. */
async function arping(lan: Lan, target: Host): Promise<string | undefined> {
  const client = lan.client as Host;
  const r = await lan.exec(client, ['arping', '-c', '1', '-w', '1', '-I', 'eth0', target.ipv4]);
  return /\[([0-9a-f:]{17})\]/i.exec(r.stdout)?.[1]?.toLowerCase();
}

async function ping(lan: Lan, from: Host, to: Host): Promise<boolean> {
  const r = await lan.exec(from, ['ping', '-c', '1', '-W', '1', to.ipv4]);
  return r.code === 0;
}

if (!root) {
  test('network harness (needs root)', (t) => {
    t.log('skipped: network namespaces need root; run ./scripts/test as root');
    t.pass();
  });
} else {
  test.before(async (t) => {
    t.context.lan = await createLan({ hosts: 3, prefix: 'mlbt' });
  });
  test.after.always(async (t) => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await t.context.lan?.teardown();
  });

  test.serial('arping from the client gets the host MAC', async (t) => {
    const { lan } = t.context;
    const h1 = lan.host('h1');
    t.is(await arping(lan, h1), h1.mac);
  });

  test.serial('ndisc6 from the client resolves a host IPv6 address to its MAC', async (t) => {
    const { lan } = t.context;
    const h2 = lan.host('h2');
    const r = await lan.exec(lan.client as Host, ['ndisc6', '-r', '3', '-w', '500', h2.ipv6, 'eth0']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout.toLowerCase(), new RegExp(`link-layer address\\s*:\\s*${h2.mac}`));
  });

  test.serial('dropping 100% of a port makes arping fail; 0% restores it', async (t) => {
    const { lan } = t.context;
    const h3 = lan.host('h3');
    await lan.dropFraction(h3, 1);
    t.is(await arping(lan, h3), undefined);
    await lan.dropFraction(h3, 0);
    t.is(await waitFor('arping after loss removed', () => arping(lan, h3), 5_000), h3.mac);
  });

  test.serial('a fraction drops some packets, not all', async (t) => {
    const { lan } = t.context;
    const h1 = lan.host('h1');
    const client = lan.client as Host;
    // A static neighbour entry: ARP must not be part of what is measured.
    const neigh = ['ip', 'neigh', 'replace', h1.ipv4, 'lladdr', h1.mac, 'dev', 'eth0', 'nud', 'permanent'];
    t.is((await lan.exec(client, neigh)).code, 0);
    await lan.dropFraction(h1, 0.5);
    const r = await lan.exec(client, ['ping', '-c', '100', '-i', '0.005', '-W', '1', '-q', h1.ipv4]);
    await lan.dropFraction(h1, 0);
    await lan.exec(client, ['ip', 'neigh', 'del', h1.ipv4, 'dev', 'eth0']);
    const loss = Number(/(\d+(?:\.\d+)?)% packet loss/.exec(r.stdout)?.[1]);
    // Each echo crosses the port twice: P(both pass) = 0.25 → ~75% loss expected.
    t.true(loss > 50 && loss < 95, `loss ${loss}%`);
  });

  test.serial('link down breaks the path, link up restores it', async (t) => {
    const { lan } = t.context;
    const h2 = lan.host('h2');
    await lan.linkDown(h2);
    t.false(await ping(lan, lan.client as Host, h2));
    await lan.linkUp(h2);
    t.true(await waitFor('ping after link up', () => ping(lan, lan.client as Host, h2), 5_000));
  });

  test.serial('a partition separates h1 from h2 but not from the client; heal restores', async (t) => {
    const { lan } = t.context;
    const [h1, h2] = [lan.host('h1'), lan.host('h2')];
    await lan.partition([h1], [h2]);
    t.false(await ping(lan, h1, h2));
    t.true(await ping(lan, h1, lan.client as Host));
    await lan.heal();
    t.true(await waitFor('ping after heal', () => ping(lan, h1, h2), 5_000));
  });

  test.serial('teardown leaves no namespace; sweepStale removes those of dead processes', async (t) => {
    const lan = await createLan({ hosts: 1, client: false, prefix: 'mlbt' });
    const names = [lan.switchNs, ...lan.all.map((h) => h.ns)];
    t.true(names.every((n) => namespaces().includes(n)));
    await lan.teardown();
    t.false(names.some((n) => namespaces().includes(n)));

    // A namespace named for a pid that does not exist is stale.
    const stale = 'mlbt-4194300-1-sw';
    execFileSync('ip', ['netns', 'add', stale]);
    t.true(sweepStale('mlbt') >= 1);
    t.false(namespaces().includes(stale));
  });
}
