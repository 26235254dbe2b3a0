// `meshlb speaker` as it runs in a cluster: three real speaker processes in
// network namespaces on one LAN, each with the speaker ServiceAccount's own
// token (RBAC from deploy/), and the real controller. Judged from outside:
// arping from a client host, the ServiceAnnouncement objects, the speakers'
// /readyz, /debug/mesh, /debug/summary and /metrics (promtool), and their logs (no 403).
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION, type ServiceAnnouncement } from '../../src/kube/api/index.ts';
import {
  createIpPool,
  createL2Advertisement,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from '../../lab/testbed/controlplane/index.ts';
import { ApiAccess, arping, createLan, httpGet, type Host, type Lan } from '../../lab/testbed/netns/index.ts';
import { killGroup, spawnGroup, type GroupChild } from '../../lab/testbed/process-group.ts';
import {
  createSpeakerPod,
  registerNode,
  SPEAKER_NAMESPACE,
  SPEAKER_SERVICE_ACCOUNT,
  speakerMetricsHttp,
  startSpeakerProcess,
  writeMeshKey,
} from '../../lab/testbed/speakers/index.ts';
import { promtoolCheckMetrics } from '../helpers/promtool.ts';
import { SAVE_INTERVAL_MS } from '../../src/speaker/saved-view.ts';
import { checkoutRelease, RELEASE_BEFORE_FORMAT_2 } from '../../lab/testbed/release.ts';
import { waitFor } from '../helpers/wait.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// The Namespace is in controller.yaml: it goes first.
const RBAC = ['controller.yaml', 'speaker.yaml'].map((f) =>
  fileURLToPath(new URL(`../../deploy/rbac/${f}`, import.meta.url)),
);
const root = process.getuid?.() === 0;
/** Listens where MetalLB's speaker does (memberlist 7946 TCP and UDP, metrics 7472) on the address given. */
const METALLB_PORTS = `
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
const ip = process.argv[1];
await new Promise((r) => createServer().listen(7946, ip, r));
await new Promise((r) => createServer().listen(7472, ip, r));
await new Promise((r) => createSocket('udp4').bind(7946, ip, r));
process.stdout.write('ready\\n');`;
const SERVICE_NS = 'default';

interface Ctx {
  /** Processes holding MetalLB's speaker ports on every node (7946 TCP and UDP, 7472). */
  metallb: ChildProcess[];
  cp: ControlPlane;
  lan: Lan;
  api: ApiAccess;
  dir: string;
  kubeconfig: string;
  keyFile: string;
  speakers: Map<string, GroupChild>;
  controller: GroupChild;
}
const test = anyTest as TestFn<Ctx>;

function startSpeaker(t: { context: Ctx }, host: Host, suffix = '', main?: string): GroupChild {
  const { lan, kubeconfig, keyFile, dir, speakers } = t.context;
  const child = startSpeakerProcess({
    ...(main === undefined ? {} : { main }),
    lan,
    host,
    pod: `meshlb-speaker-${host.name}`,
    kubeconfig,
    meshKeyFile: keyFile,
    log: join(dir, `speaker-${host.name}${suffix}.log`),
    // The default: probes and /debug on 127.0.0.1 only (read here from inside the host).
    // The peer key kept as the DaemonSet keeps it (a file per node).
    env: { MESHLB_HEALTH_ADDR: '', MESHLB_STATE_DIR: join(dir, host.name) },
  });
  speakers.set(host.name, child);
  return child;
}

if (root) {
  test.before(async (t) => {
    t.context.speakers = new Map();
    t.context.dir = mkdtempSync(join(tmpdir(), 'meshlb-speakers-'));
    const cp = await startControlPlane();
    t.context.cp = cp;
    await installCrds(cp);
    for (const file of RBAC) {
      const r = await cp.kubectl(['apply', '--server-side', '-f', file]);
      if (r.code !== 0) throw new Error(`kubectl apply ${file}: ${r.stderr}`);
    }
    const lan = await createLan({ hosts: 3, prefix: 'mlbsp' });
    t.context.lan = lan;
    const api = await ApiAccess.open(cp.server);
    t.context.api = api;
    const sa = await cp.kubeConfigFor(SPEAKER_NAMESPACE, SPEAKER_SERVICE_ACCOUNT);
    t.context.kubeconfig = join(t.context.dir, 'speaker.kubeconfig');
    writeFileSync(t.context.kubeconfig, sa.exportConfig());
    t.context.keyFile = writeMeshKey(t.context.dir);
    for (const host of lan.hosts) {
      await api.relay(lan, host);
      await registerNode(cp.kubeConfig, host);
      await createSpeakerPod(cp.kubeConfig, host.name);
    }
    await createIpPool(cp, 'lab', { addresses: ['198.51.100.0/28'] });
    await createL2Advertisement(cp, 'lab', { ipPools: ['lab'] });
    const ctl = await cp.kubeConfigFor(SPEAKER_NAMESPACE, 'meshlb-controller');
    const ctlKubeconfig = join(t.context.dir, 'controller.kubeconfig');
    writeFileSync(ctlKubeconfig, ctl.exportConfig());
    t.context.controller = spawnGroup(
      [process.execPath, MAIN, 'controller', '--kubeconfig', ctlKubeconfig, '--metrics-addr', 'off'],
      join(t.context.dir, 'controller.log'),
      {
        ...process.env,
        KUBECONFIG: '',
        MESHLB_LEASE_DURATION_MS: '2000',
        MESHLB_RENEW_DEADLINE_MS: '1500',
        MESHLB_RETRY_PERIOD_MS: '200',
      },
    );
    // MetalLB's speaker ports taken on every node, as during a migration (docs/migrate.md).
    t.context.metallb = [];
    for (const host of lan.hosts) {
      const holder = lan.spawn(
        host,
        [process.execPath, '--input-type=module', '-e', METALLB_PORTS, host.ipv4],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      t.context.metallb.push(holder);
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.once('data', () => {
          resolve();
        });
        holder.once('exit', (code) => {
          reject(new Error(`the MetalLB port holder on ${host.name} exited (${String(code)})`));
        });
      });
    }
    for (const host of lan.hosts) startSpeaker(t, host);
  });

  test.after.always(async (t) => {
    const { speakers, controller, lan, api, cp, dir, metallb } = t.context as Partial<Ctx>;
    for (const m of metallb ?? []) m.kill('SIGKILL');
    for (const c of [...(speakers?.values() ?? []), ...(controller === undefined ? [] : [controller])]) {
      if (c.exited() !== undefined) continue;
      c.ref();
      killGroup(c.pid, 'SIGKILL');
      await c.done;
    }
    await api?.close();
    await lan?.teardown();
    await cp?.stop();
    if (dir !== undefined && process.env.MESHLB_KEEP_LOGS === undefined)
      rmSync(dir, { recursive: true, force: true });
  });
}

/** A speaker's probes and debug endpoint, from inside its host (loopback, the default). */
const LOCAL = 'http://127.0.0.1:7474';

const core = (t: { context: Ctx }) => t.context.cp.kubeConfig.makeApiClient(CoreV1Api);

async function serviceIp(t: { context: Ctx }, name: string): Promise<string | undefined> {
  const svc = await core(t).readNamespacedService({ namespace: SERVICE_NS, name });
  return svc.status?.loadBalancer?.ingress?.[0]?.ip;
}

async function announcer(t: { context: Ctx }, name: string): Promise<string | undefined> {
  try {
    const sa = (await t.context.cp.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.ServiceAnnouncement,
      namespace: SERVICE_NS,
      name,
    })) as ServiceAnnouncement;
    return sa.status?.announcements?.[0]?.node;
  } catch {
    return undefined;
  }
}

async function ready(t: { context: Ctx }, host: Host): Promise<boolean> {
  return (await httpGet(t.context.lan, host, `${LOCAL}/readyz`)).status === 200;
}

/** Waits until the speaker on `host` is ready; if it never is, says why (its /readyz and its last log lines). */
async function waitReady(t: ExecutionContext<Ctx>, host: Host, ms: number, what = 'ready'): Promise<void> {
  await waitFor(`${host.name} ${what}`, () => ready(t, host), ms).catch(async (err: unknown) => {
    const r = await httpGet(t.context.lan, host, `${LOCAL}/readyz`).catch(() => undefined);
    t.log(`${host.name} /readyz: ${r?.status} ${r?.body}`);
    const log = t.context.speakers.get(host.name)?.log;
    if (log !== undefined && existsSync(log))
      t.log(readFileSync(log, 'utf8').split('\n').slice(-40).join('\n'));
    throw err;
  });
}

interface DebugMesh {
  members: { node: string; state: string }[];
  announcing: { ip: string }[];
  decisions: { ip: string; heirs: string[] }[];
}

async function debugMesh(t: { context: Ctx }, host: Host): Promise<DebugMesh | undefined> {
  const r = await httpGet(t.context.lan, host, `${LOCAL}/debug/mesh`);
  return r.status === 200 ? (JSON.parse(r.body) as DebugMesh) : undefined;
}

/**
 * The one speaker announcing `ip`, from the speakers themselves (the
 * ServiceAnnouncement may lag a heal); waits until exactly one does.
 */
function soleHolder(t: { context: Ctx }, ip: string): Promise<string> {
  return waitFor('exactly one speaker holding the IP', async () => {
    const holders: string[] = [];
    for (const h of t.context.lan.hosts)
      if ((await debugMesh(t, h))?.announcing.some((a) => a.ip === ip) === true) holders.push(h.name);
    return holders.length === 1 ? holders[0] : undefined;
  });
}

/** kill -9 of the speaker on `node` (its process group), waiting for its exit. */
async function killSpeaker(t: { context: Ctx }, node: string): Promise<void> {
  const c = t.context.speakers.get(node) as GroupChild;
  killGroup(c.pid, 'SIGKILL');
  c.ref();
  await c.done;
}

/** Waits until the speaker on `host` sees every host alive in the mesh. */
function seesAllAlive(t: { context: Ctx }, host: Host, ms: number): Promise<unknown> {
  const n = t.context.lan.hosts.length;
  return waitFor(
    `${host.name} sees ${n} alive members`,
    async () => (await debugMesh(t, host))?.members.filter((m) => m.state === 'alive').length === n,
    ms,
  );
}

function logRecords(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const macOf = (t: { context: Ctx }, node: string): string => t.context.lan.host(node).mac;

/** `meshlb <args>` inside a host (its API relay), as an administrator. */
async function meshlb(t: { context: Ctx }, host: Host, ...args: string[]): Promise<string> {
  const admin = join(t.context.dir, 'admin.kubeconfig');
  writeFileSync(admin, t.context.cp.kubeConfig.exportConfig());
  const r = await t.context.lan.exec(host, [process.execPath, MAIN, ...args, '--kubeconfig', admin]);
  if (r.code !== 0) throw new Error(`meshlb ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

(root ? test.serial : test.serial.skip)(
  'speakers become ready with their own tokens, agree on one announcer, and arping reaches it',
  async (t) => {
    const { lan } = t.context;
    for (const host of lan.hosts) await waitReady(t, host, 60_000);
    // Each speaker published the MAC it answers on (peers' answers are not conflicts)
    // and the interface (the controller checks L2Advertisements' interfaces against them).
    for (const host of lan.hosts) {
      const pod = await core(t).readNamespacedPod({
        namespace: SPEAKER_NAMESPACE,
        name: `meshlb-speaker-${host.name}`,
      });
      t.deepEqual(JSON.parse(pod.metadata?.annotations?.['meshlb.io/macs'] ?? '[]'), [
        host.mac.toLowerCase(),
      ]);
      t.deepEqual(JSON.parse(pod.metadata?.annotations?.['meshlb.io/interfaces'] ?? '[]'), ['eth0']);
    }
    for (const host of lan.hosts) await seesAllAlive(t, host, 10_000);
    await core(t).createNamespacedService({
      namespace: SERVICE_NS,
      body: {
        metadata: { name: 'web' },
        spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    });
    const ip = await waitFor('an IP for web', () => serviceIp(t, 'web'), 20_000);
    const node = await waitFor('a ServiceAnnouncement for web', () => announcer(t, 'web'), 20_000).catch(
      async (err: unknown) => {
        t.log(JSON.stringify(await debugMesh(t, lan.hosts[0] as Host)));
        throw err;
      },
    );
    // Exactly one speaker answers, and it is the one the object names.
    const holders = [];
    for (const host of lan.hosts)
      if ((await debugMesh(t, host))?.announcing.some((a) => a.ip === ip)) holders.push(host.name);
    t.deepEqual(holders, [node]);
    // /debug/summary (what tools poll) says the same.
    const summaries = await Promise.all(
      lan.hosts.map(async (h) => {
        const r = await httpGet(lan, h, `${LOCAL}/debug/summary`);
        return JSON.parse(r.body) as { node: string; announcing: string[]; members: { state: string }[] };
      }),
    );
    t.deepEqual(
      summaries.filter((x) => x.announcing.includes(ip)).map((x) => x.node),
      [node],
    );
    t.true(summaries.every((x) => x.members.filter((m) => m.state === 'alive').length === 3));
    const macs = await arping(lan, lan.client as Host, ip);
    t.true(macs.length > 0, 'arping got replies');
    t.deepEqual([...new Set(macs)], [macOf(t, node)]);
    // meshlb explain, from the API alone: the election's answer, every node ranked.
    const h1 = lan.hosts[0] as Host;
    const explained = await meshlb(t, h1, 'explain', 'default/web');
    t.regex(
      explained,
      new RegExp(`${ip.replaceAll('.', '\\.')} \\(pool lab\\): announced by ${node} \\(kept, epoch 1\\)`),
    );
    t.is(explained.match(/^\s+[123]\s+h[123]\s/gm)?.length, 3, explained);
    const status = await meshlb(t, h1, 'status');
    t.regex(status, new RegExp(`${ip.replaceAll('.', '\\.')}\\s+default/web\\s+${node}\\s+1\\s`));
    const nobody = await arping(lan, lan.client as Host, '198.51.100.14', 1);
    t.deepEqual(nobody, [], 'an address of the pool that is not assigned gets no answer');
  },
);

(root ? test.serial : test.serial.skip)(
  'beside MetalLB: its ports taken on every node, the speakers started and serve on their own',
  async (t) => {
    const { lan, metallb } = t.context;
    t.true(
      metallb.every((m) => m.exitCode === null),
      'MetalLB’s ports stay with their holders',
    );
    for (const host of lan.hosts) {
      t.true(await ready(t, host), `${host.name} ready`);
      t.is((await httpGet(lan, lan.client as Host, `${speakerMetricsHttp(host)}/metrics`)).status, 200);
    }
  },
);

(root ? test.serial : test.serial.skip)(
  'the LAN gets /metrics only: probes and debug bodies answer on the node’s loopback alone',
  async (t) => {
    const { lan } = t.context;
    const h = lan.hosts[0] as Host;
    const client = lan.client as Host;
    const lanGet = async (url: string): Promise<number> => (await httpGet(lan, client, url)).status;
    t.is(await lanGet(`${speakerMetricsHttp(h)}/metrics`), 200);
    for (const path of ['/healthz', '/readyz', '/debug/mesh', '/debug/summary'])
      t.is(await lanGet(`${speakerMetricsHttp(h)}${path}`), 404, `${path} on the metrics port`);
    t.is(await lanGet(`http://${h.ipv4}:7474/readyz`), 0, 'nothing listens on the LAN address at 7474');
    for (const path of ['/healthz', '/readyz', '/debug/summary'])
      t.is((await httpGet(lan, h, `${LOCAL}${path}`)).status, 200, `${path} on loopback`);
    t.is((await httpGet(lan, h, `${LOCAL}/metrics`)).status, 404, '/metrics is not on the loopback one');
  },
);

(root ? test.serial : test.serial.skip)(
  'a scrape of a speaker passes promtool and follows the mesh',
  async (t) => {
    const { lan } = t.context;
    const h = lan.hosts[0] as Host;
    const scrape = async (): Promise<string> =>
      (await httpGet(lan, h, `${speakerMetricsHttp(h)}/metrics`)).body;
    const body = await scrape();
    const lint = promtoolCheckMetrics(body);
    t.is(lint.output, '', 'promtool reports nothing');
    t.is(lint.status, 0);
    t.regex(body, /^meshlb_build_info\{.*component="speaker".*\} 1$/m);
    t.regex(body, /^meshlb_mesh_members\{state="alive"\} 3$/m);
    t.regex(body, /^meshlb_caches_synced 1$/m);
    t.regex(body, /^meshlb_wire_requests_total\{protocol="arp"\} [1-9]/m);
  },
);

(root ? test.serial : test.serial.skip)(
  'kill -9 of the announcer: another node answers ARP and the announcement moves',
  async (t) => {
    const { lan, speakers } = t.context;
    const ip = (await serviceIp(t, 'web')) ?? '';
    const before = (await announcer(t, 'web')) ?? '';
    const victim = speakers.get(before) as GroupChild;
    killGroup(victim.pid, 'SIGKILL');
    victim.ref();
    await victim.done;
    const killedAt = Date.now();
    const after = await waitFor(
      'another announcer',
      async () => {
        const macs = await arping(lan, lan.client as Host, ip, 1);
        return macs.length > 0 && macs[0] !== macOf(t, before) ? macs[0] : undefined;
      },
      10_000,
    );
    t.log(
      `ARP answered by ${after} within ${Date.now() - killedAt} ms of the kill (arping needs ≥ 1 s a probe)`,
    );
    const next = await waitFor(
      'the announcement moved',
      async () => {
        const n = await announcer(t, 'web');
        return n !== undefined && n !== before ? n : undefined;
      },
      10_000,
    );
    t.is(after, macOf(t, next));
    // The survivors see the dead member; metrics show it.
    const other = lan.hosts.find((h) => h.name !== before) as Host;
    await waitFor(
      'the killed member dead in /metrics',
      async () =>
        /^meshlb_mesh_members\{state="(dead|suspect)"\} 1$/m.test(
          (await httpGet(lan, other, `${speakerMetricsHttp(other)}/metrics`)).body,
        ),
      10_000,
    );
    // explain with the mesh's view: the killed node is rejected because its speaker is gone.
    const explained = await meshlb(t, other, 'explain', 'default/web', '--speaker', LOCAL);
    t.regex(explained, new RegExp(`announced by ${next} \\(kept, epoch 2\\)`), explained);
    t.regex(explained, new RegExp(`${before}\\s+Speaker(Dead|Suspect):`), explained);
    const status = await meshlb(t, other, 'status', '--speaker', LOCAL);
    t.regex(status, new RegExp(`^${before}\\s+(dead|suspect)\\s`, 'm'), status);
    // It comes back with the identity it kept on the node: the peer ID its Pod publishes.
    const peerIdOf = async (): Promise<string | undefined> =>
      (await core(t).readNamespacedPod({ namespace: SPEAKER_NAMESPACE, name: `meshlb-speaker-${before}` }))
        .metadata?.annotations?.['meshlb.io/peer-id'];
    const published = await peerIdOf();
    const again = startSpeaker(t, lan.host(before), '-2');
    await waitReady(t, lan.host(before), 30_000, 'ready again');
    const running = logRecords(again.log).find((r) => r.msg === 'speaker running');
    t.is(running?.identity, 'file');
    t.is(await peerIdOf(), published, 'the same peer ID as before the kill');
    t.is(await announcer(t, 'web'), next, 'sticky: the IP stays where it moved');
  },
);

(root ? test.serial : test.serial.skip)(
  'a speaker restarted while the API server is unreachable rejoins on the view it saved, and takes over',
  async (t) => {
    const { lan, api, dir } = t.context;
    const client = lan.client as Host;
    const ip = (await serviceIp(t, 'web')) ?? '';
    const holder = await soleHolder(t, ip);
    const heir = (await debugMesh(t, lan.host(holder)))?.decisions.find((d) => d.ip === ip)?.heirs[0];
    if (heir === undefined) throw new Error(`no heir for ${ip}`);
    const heirHost = lan.host(heir);
    // The view the heir saved on its node, with the Service in it (a view is
    // saved at once when first synced, then at most every 30 s: SAVE_INTERVAL_MS).
    const saved = join(dir, heir, 'view.json');
    await waitFor(
      `${heir}'s saved view to hold ${ip}`,
      () => existsSync(saved) && readFileSync(saved, 'utf8').includes(`"${ip}"`),
      SAVE_INTERVAL_MS + 10_000,
      500,
    );
    api.cut(heirHost);
    await killSpeaker(t, heir);
    const again = startSpeaker(t, heirHost, '-offline');
    await waitFor(
      `${heir} back in the mesh without the API server`,
      async () => (await debugMesh(t, heirHost))?.members.filter((m) => m.state === 'alive').length === 3,
      30_000,
    );
    t.true(
      logRecords(again.log).some(
        (r) =>
          r.msg === 'the API server did not answer: deciding on the view saved on this node until it does',
      ),
    );
    t.is((await httpGet(lan, heirHost, `${LOCAL}/readyz`)).status, 200, 'ready on the saved view');
    // The announcer dies: the heir, still without the API server, takes over.
    await killSpeaker(t, holder);
    const macs = await waitFor(
      'the heir answers',
      async () => {
        const m = await arping(lan, client, ip, 1);
        return m.includes(heirHost.mac) ? m : undefined;
      },
      15_000,
    ).catch(async (err: unknown) => {
      const r = await httpGet(lan, heirHost, `${LOCAL}/debug/mesh`);
      t.log(r.body.slice(0, 3000));
      throw err;
    });
    t.deepEqual([...new Set(macs)], [heirHost.mac]);
    // As before for the next tests: the API server back, the announcer's speaker restarted.
    await api.relay(lan, heirHost);
    startSpeaker(t, lan.host(holder), '-back');
    await waitReady(t, lan.host(holder), 30_000, 'ready again');
  },
);

(root ? test.serial : test.serial.skip)(
  'a link flap too short for a takeover: the holder stays silent until its claims are checked, then answers again',
  async (t) => {
    const { lan, speakers } = t.context;
    const ip = (await serviceIp(t, 'web')) ?? '';
    const holder = await soleHolder(t, ip);
    const host = lan.host(holder);
    const log = (speakers.get(holder) as GroupChild).log;
    const released = (): number =>
      logRecords(log).filter((r) => r.msg === 'link back up: claims checked, answering on it again').length;
    const before = released();
    await lan.flapLink(host);
    const upAt = Date.now();
    // The link was held when it came back (the responder answers nothing), and
    // released by the speaker once the resync brought the standing claims.
    await waitFor('the link released', () => released() > before, 10_000);
    t.log(`released ${Date.now() - upAt} ms after the link came back`);
    const macs = await waitFor('the holder answers again', async () => {
      const m = await arping(lan, lan.client as Host, ip, 1);
      return m.length > 0 ? m : undefined;
    });
    t.deepEqual([...new Set(macs)], [host.mac], 'the same node answers: nothing moved');
    t.is(await soleHolder(t, ip), holder);
  },
);

(root ? test.serial : test.serial.skip)(
  'a node cut off from the mesh and the API server stops answering after the grace; the others take over',
  async (t) => {
    const { lan, api } = t.context;
    const ip = (await serviceIp(t, 'web')) ?? '';
    // From the speakers themselves: the ServiceAnnouncement may still name the node
    // that held the IP before the previous tests moved it (CI cut a node that held
    // nothing, which then "withdrew" at once).
    const holder = await soleHolder(t, ip);
    const host = lan.host(holder);
    api.cut(host);
    await lan.linkDown(host);
    const cutAt = Date.now();
    // Its own view, read inside its namespace (local traffic needs no link).
    await waitFor(
      `${holder} withdraws`,
      async () => (await debugMesh(t, host))?.announcing.length === 0,
      15_000,
    );
    const ms = Date.now() - cutAt;
    t.true(ms >= 2_500, `withdrew ${ms} ms after the cut: not before the 3 s grace (plus detection)`);
    t.regex(
      readFileSync((t.context.speakers.get(holder) as GroupChild).log, 'utf8'),
      /isolated from the mesh majority/,
    );
    const macs = await waitFor('another node answers', async () => {
      const m = await arping(lan, lan.client as Host, ip, 1);
      return m.length > 0 ? m : undefined;
    });
    t.notDeepEqual(macs, [host.mac]);
    await lan.linkUp(host);
    await api.relay(lan, host);
    await waitReady(t, host, 30_000, 'ready again');
    await seesAllAlive(t, host, 15_000);
    t.not(await announcer(t, 'web'), undefined);
  },
);

(root ? test.serial : test.serial.skip)(
  'the IPVS trap: a node whose kernel holds the service IP answers ARP too; its speaker says so, with the fix',
  async (t) => {
    const { lan, speakers } = t.context;
    const ip = (await serviceIp(t, 'web')) ?? '';
    const holder = await soleHolder(t, ip);
    const other = lan.hosts.find((h) => h.name !== holder) as Host;
    // What kube-proxy's IPVS mode does on every node (kube-ipvs0, here lo), with arp_ignore 0.
    await lan.exec(other, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=0']);
    await lan.exec(other, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
    t.teardown(async () => {
      await lan.exec(other, ['ip', 'addr', 'del', `${ip}/32`, 'dev', 'lo']);
    });
    const macs = await waitFor('two MACs answer', async () => {
      const m = new Set(await arping(lan, lan.client as Host, ip, 2));
      return m.size > 1 ? m : undefined;
    });
    t.deepEqual(
      [...macs].sort(),
      [lan.host(holder).mac, other.mac].sort(),
      'the elected node and the other’s kernel',
    );
    const metric = async (): Promise<string | undefined> =>
      /^meshlb_kernel_answered_ips (\d+)$/m.exec(
        (await httpGet(lan, other, `${speakerMetricsHttp(other)}/metrics`)).body,
      )?.[1];
    await waitFor('the metric on the other node', async () => (await metric()) === '1');
    const warned = logRecords((speakers.get(other.name) as GroupChild).log).find((r) =>
      String(r.msg).startsWith("this node's kernel answers ARP for service IPs by itself"),
    );
    t.deepEqual(warned?.ips, [ip]);
    t.regex(String(warned?.fix), /strictARP: true/);
    const events = await waitFor('a Warning Event on the Node', async () => {
      const list = await t.context.cp.kubeConfig
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: 'default', fieldSelector: 'reason=KernelAnswersServiceIPs' });
      const mine = list.items.filter(
        (e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === other.name,
      );
      return mine.length > 0 ? mine : undefined;
    });
    t.regex(events[0]?.message ?? '', new RegExp(`${ip.replaceAll('.', '\\.')} .*strictARP: true`));
    // The condition on its own Pod (kubectl get pod -o wide / describe shows it).
    const condition = async () =>
      (
        await core(t).readNamespacedPodStatus({
          namespace: SPEAKER_NAMESPACE,
          name: `meshlb-speaker-${other.name}`,
        })
      ).status?.conditions?.find((c) => c.type === 'meshlb.io/KernelAnswersServiceIPs');
    const on = await waitFor('the Pod condition True', async () => {
      const c = await condition();
      return c?.status === 'True' ? c : undefined;
    });
    t.regex(on.message ?? '', new RegExp(`${ip.replaceAll('.', '\\.')} .*strictARP: true`));
    // Fixed: the address gone, the metric back to 0, the condition False, one MAC answers.
    await lan.exec(other, ['ip', 'addr', 'del', `${ip}/32`, 'dev', 'lo']);
    await waitFor('the metric back to 0', async () => (await metric()) === '0');
    await waitFor('the Pod condition False', async () => (await condition())?.status === 'False');
    t.deepEqual([...new Set(await arping(lan, lan.client as Host, ip, 2))], [lan.host(holder).mac]);
  },
);

(root ? test.serial : test.serial.skip)(
  'mixed versions: beside speakers of the release before frame format 2, kill -9 fails over both ways',
  async (t) => {
    const { lan } = t.context;
    const client = lan.client as Host;
    const release = await checkoutRelease(RELEASE_BEFORE_FORMAT_2);
    t.teardown(() => release.remove());
    const allAlive = async (): Promise<void> => {
      for (const h of lan.hosts) await seesAllAlive(t, h, 30_000);
    };
    const answeredBy = (ip: string, want: (mac: string) => boolean, what: string) =>
      waitFor(
        what,
        async () => {
          const m = await arping(lan, client, ip, 1);
          return m.length > 0 && m.every(want) ? m : undefined;
        },
        15_000,
      );
    const ip = (await serviceIp(t, 'web')) ?? '';
    const holder = await soleHolder(t, ip);
    const heir = (await debugMesh(t, lan.host(holder)))?.decisions.find((d) => d.ip === ip)?.heirs[0];
    if (heir === undefined) throw new Error(`no heir for ${ip}`);
    // The heir runs the older release (its identity kept on the node, as the DaemonSet's would).
    await killSpeaker(t, heir);
    startSpeaker(t, lan.host(heir), '-old', release.main);
    await waitReady(t, lan.host(heir), 60_000, 'ready on the older release');
    await allAlive();
    // The new speakers know it reads only version 1.
    const versions = async (host: Host): Promise<string> =>
      (await httpGet(lan, host, `http://${host.ipv4}:7475/metrics`)).body
        .split('\n')
        .filter((l) => l.startsWith('meshlb_mesh_peer_protocol_versions{'))
        .join(' ');
    await waitFor(`${holder} counts one member reading version 1`, async () =>
      (await versions(lan.host(holder))).includes('version="1"} 1'),
    );

    // New → old: the new announcer dies, the old heir takes over.
    await killSpeaker(t, holder);
    await answeredBy(ip, (m) => m === macOf(t, heir), `${heir} (older release) answers for ${ip}`);
    startSpeaker(t, lan.host(holder), '-new');
    await waitReady(t, lan.host(holder), 60_000, 'ready again');
    await allAlive();
    t.is(await soleHolder(t, ip), heir, 'the older release holds the IP (sticky)');

    // Old → new: the old announcer dies, a new speaker takes over.
    await killSpeaker(t, heir);
    const macs = await answeredBy(ip, (m) => m !== macOf(t, heir), `a new speaker answers for ${ip}`);
    t.is(new Set(macs).size, 1, 'one MAC answers');
    // As before for the next test: every speaker of this release.
    startSpeaker(t, lan.host(heir), '-back');
    await waitReady(t, lan.host(heir), 60_000, 'ready on this release');
    await allAlive();
    await waitFor(
      `${holder} counts no member reading version 1`,
      async () => !(await versions(lan.host(holder))).includes('version="1"} 1'),
    );
  },
);

(root ? test.serial : test.serial.skip)(
  'SIGTERM hands over before exiting; nothing was refused by RBAC',
  async (t) => {
    const { lan, speakers, dir } = t.context;
    const ip = (await serviceIp(t, 'web')) ?? '';
    const holder = await soleHolder(t, ip);
    const child = speakers.get(holder) as GroupChild;
    killGroup(child.pid, 'SIGTERM');
    child.ref();
    await child.done;
    t.is(child.exited(), '0');
    const records = logRecords(child.log);
    const handoff = records.find((r) => r.msg === 'hand-off finished');
    t.truthy(handoff, 'logged the hand-off');
    t.deepEqual(handoff?.notHandedOff, [], 'every IP had a successor claim before it stopped answering');
    const macs = await arping(lan, lan.client as Host, ip, 1);
    t.true(macs.length === 1 && macs[0] !== macOf(t, holder), `answered by another node: ${macs.join(',')}`);
    for (const file of [...speakers.values()].map((c) => c.log).concat(join(dir, 'controller.log'))) {
      const text = readFileSync(file, 'utf8');
      t.notRegex(text, /forbidden|"code":403/i, `${file} has no RBAC refusal`);
      t.false(
        logRecords(file).some((r) => (r.level as number) >= 50),
        `${file} has no error`,
      );
    }
  },
);
