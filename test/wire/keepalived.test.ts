import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { run } from '../../lab/testbed/exec.ts';
import {
  defaultPriorities,
  keepalivedConfig,
  keepalivedLinkCutTrial,
  startKeepalived,
  type KeepalivedCluster,
} from '../../lab/testbed/keepalived/index.ts';
import { arping, createLan, type Host, type Lan } from '../../lab/testbed/netns/index.ts';

const test = anyTest as TestFn<{ lan: Lan; ka: KeepalivedCluster }>;
const root = process.getuid?.() === 0;
const VIP = '198.51.100.20';

const config = (over: Partial<Parameters<typeof keepalivedConfig>[0]> = {}): string =>
  keepalivedConfig({
    routerId: 'h1',
    vip: VIP,
    advertIntervalMs: 100,
    priority: 100,
    virtualRouterId: 51,
    ...over,
  });

test('the config is VRRPv3 with centisecond adverts, all BACKUP with nopreempt, the VIP on eth0', (t) => {
  const c = config();
  for (const line of [
    'version 3',
    'state BACKUP',
    'nopreempt',
    'interface eth0',
    'advert_int 0.1',
    `${VIP}/32 dev eth0`,
  ])
    t.true(c.includes(`  ${line}\n`), line);
  t.false(c.includes('unicast_peer'));
  t.true(config({ advertIntervalMs: 1000 }).includes('  advert_int 1\n'));
  const u = config({ unicast: { src: '192.0.2.11', peers: ['192.0.2.12', '192.0.2.13'] } });
  t.true(u.includes('  unicast_src_ip 192.0.2.11\n  unicast_peer {\n    192.0.2.12\n    192.0.2.13\n  }\n'));
});

test('default priorities start at keepalived’s 100, 10 apart, and stay within 1…254', (t) => {
  t.deepEqual(defaultPriorities(3), [100, 90, 80]);
  const many = defaultPriorities(40);
  t.is(new Set(many).size, 40);
  t.true(many.every((p) => p >= 1 && p <= 100));
});

test('the config rejects a priority outside 1…254 and a non-IPv4 VIP', (t) => {
  t.throws(() => config({ priority: 255 }), { instanceOf: RangeError });
  t.throws(() => config({ priority: 0 }), { instanceOf: RangeError });
  t.throws(() => config({ vip: 'fd00::1' }), { instanceOf: RangeError });
});

if (!root) {
  test('keepalived on the network harness (needs root)', (t) => {
    t.log('skipped: network namespaces need root; run ./scripts/test as root');
    t.pass();
  });
} else {
  test.before(async (t) => {
    const lan = await createLan({ hosts: 3, prefix: 'mlbt' });
    t.context.lan = lan;
    t.context.ka = await startKeepalived(lan, lan.hosts, { vip: VIP, advertIntervalMs: 100 });
  });
  test.after.always(async (t) => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await t.context.ka?.stop();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when before() failed
    await t.context.lan?.teardown();
  });

  test.serial('keepalived accepts the rendered config (--config-test)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'meshlb-keepalived-test-'));
    try {
      const file = join(dir, 'keepalived.conf');
      writeFileSync(file, config({ unicast: { src: '192.0.2.11', peers: ['192.0.2.12'] } }));
      const r = await run(['/usr/sbin/keepalived', `--config-test`, '--use-file', file]);
      t.is(r.code, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.serial('one MASTER holds the VIP, the others are BACKUP, and the client reaches it', async (t) => {
    const { lan, ka } = t.context;
    const master = await ka.steady();
    t.deepEqual(await ka.holders(), [master]);
    t.deepEqual(
      ka.hosts.filter((h) => h !== master).map((h) => ka.state(h)),
      ['BACKUP', 'BACKUP'],
    );
    const client = lan.client as Host;
    t.deepEqual(await arping(lan, client, VIP, 1), [master.mac]);
    const r = await lan.exec(client, ['ping', '-c', '3', '-i', '0.05', '-W', '1', VIP]);
    t.is(r.code, 0, r.stdout);
  });

  test.serial('a link cut moves the VIP to another host and the client’s pings resume', async (t) => {
    const { lan, ka } = t.context;
    const before = await ka.steady();
    const { outageMs, oldMaster, newMaster, takeovers } = await keepalivedLinkCutTrial(ka, {
      deadlineMs: 5_000,
    });
    t.log(`${oldMaster.name} → ${newMaster.name}: outage ${outageMs.toFixed(1)} ms`);
    t.true(takeovers.includes(newMaster));
    t.is(oldMaster, before);
    t.not(newMaster, before);
    t.true(outageMs > 0 && outageMs < 3_000, `outage ${outageMs} ms`);
    // The cable is back in: the old MASTER stays BACKUP (nopreempt), the new one keeps the VIP.
    t.is(ka.state(before), 'BACKUP');
    t.deepEqual(await ka.holders(), [newMaster]);
    const r = await lan.exec(lan.client as Host, ['ping', '-c', '3', '-i', '0.05', '-W', '1', VIP]);
    t.is(r.code, 0, r.stdout);
  });

  test.serial('stop() ends every keepalived and the VIP leaves eth0', async (t) => {
    const { ka } = t.context;
    await ka.stop();
    t.true(ka.hosts.every((h) => ka.state(h) === 'STOP'));
    t.deepEqual(await ka.holders(), []);
  });
}
