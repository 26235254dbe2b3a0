// The mesh's metrics over real libp2p: three speakers on loopback, the
// EndpointServer and registerMeshMetrics on one of them, /metrics scraped over
// HTTP and linted by promtool, and the numbers following the mesh when a
// member is stopped (no FIN from the core: it stops answering, like a crash).
import { request } from 'node:http';
import { promtoolCheckMetrics } from '../helpers/promtool.ts';
import anyTest, { type TestFn } from 'ava';
import pino from 'pino';
import { createRegistry, EndpointServer, registerMeshMetrics } from '../../src/metrics/index.ts';
import { StaticPeerAuthority } from '../../src/mesh/transport.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  aliveSeenBy,
  identity,
  newNetworkKey,
  startSpeaker,
  type Speaker,
} from '../../lab/testbed/speakers/in-process.ts';

interface Ctx {
  speakers: Speaker[];
  server: EndpointServer;
  port: number;
}
const test = anyTest as TestFn<Ctx>;
const NAMES = ['m1', 'm2', 'm3'];

test.before(async (t) => {
  const ids = await Promise.all(NAMES.map(identity));
  const key = newNetworkKey();
  const authority = new StaticPeerAuthority(ids.map((i) => [i.name, i.peerId] as const));
  const speakers = await Promise.all(ids.map((id) => startSpeaker({ id, networkKey: key, authority })));
  t.context.speakers = speakers;
  const [first] = speakers;
  if (first === undefined) throw new Error('no speakers');
  for (const s of speakers.slice(1)) s.membership.join([first.transport.endpoint]);
  const registry = createRegistry('speaker');
  registerMeshMetrics(registry, { membership: first.membership, transport: first.transport });
  t.context.server = new EndpointServer({
    registry,
    log: pino({ level: 'silent' }),
    ready: () => ({ ready: true, reasons: [] }),
    debug: { mesh: () => ({ members: first.membership.members() }) },
  });
  t.context.port = (await t.context.server.listen('127.0.0.1:0')).port;
});

test.after.always(async (t) => {
  await t.context.server.close();
  await Promise.all(t.context.speakers.map((s) => s.stop()));
});

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body });
      });
    })
      .on('error', reject)
      .end();
  });
}

/** Scrapes /metrics: series (name and labels, as written) → value. */
async function scrape(port: number): Promise<{ text: string; series: Map<string, number> }> {
  const r = await get(port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  const series = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text: r.body, series };
}

const sum = (series: Map<string, number>, name: string): number =>
  [...series].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((a, [, v]) => a + v, 0);

test.serial('/metrics over HTTP: promtool accepts it, and it shows the formed mesh', async (t) => {
  const { speakers, port } = t.context;
  await waitFor(
    'every speaker to see 3 alive',
    () => speakers.every((s) => aliveSeenBy(s).length === 3),
    10_000,
  );
  // Probes and their acks have flowed both ways once a probe round completed.
  const { text, series } = await waitFor(
    'probes, RTTs and acks in the metrics',
    async () => {
      const s = await scrape(port);
      return (s.series.get('meshlb_mesh_probe_rtt_seconds_count') ?? 0) > 0 &&
        (s.series.get('meshlb_mesh_received_bytes_total{type="ack"}') ?? 0) > 0
        ? s
        : undefined;
    },
    10_000,
  );
  const lint = promtoolCheckMetrics(text);
  t.is(lint.output, '', 'promtool reports nothing');
  t.is(lint.status, 0);

  t.is(series.get('meshlb_mesh_members{state="alive"}'), 3);
  t.is(series.get('meshlb_mesh_members{state="dead"}'), 0);
  t.true((series.get('meshlb_mesh_probes_total') ?? 0) > 0);
  t.true((series.get('meshlb_mesh_messages_sent_total{type="ping"}') ?? 0) > 0);
  t.true((series.get('meshlb_mesh_messages_received_total{type="ack"}') ?? 0) > 0);
  t.true((series.get('meshlb_mesh_sent_bytes_total{type="ping"}') ?? 0) > 0);
  t.true(
    (series.get('meshlb_mesh_messages_received_total{type="push-pull"}') ?? 0) >= 2,
    'two joiners synced with the seed',
  );
  t.true(series.has('meshlb_mesh_push_pulls_total'));
  t.is(series.get('meshlb_mesh_local_health_score'), 0);
  t.is(series.get('meshlb_mesh_incarnation'), speakers[0]?.membership.incarnation);
  t.regex(text, /^meshlb_build_info\{.*component="speaker"\} 1$/m);
  t.true((series.get('nodejs_eventloop_lag_seconds') ?? -1) >= 0);
  // Bytes are the encoded messages: a ping is tens of bytes, not kilobytes.
  const pings = series.get('meshlb_mesh_messages_sent_total{type="ping"}') ?? 0;
  const pingBytes = series.get('meshlb_mesh_sent_bytes_total{type="ping"}') ?? 0;
  t.true(pingBytes / pings > 8 && pingBytes / pings < 1_000, `${pingBytes} bytes for ${pings} pings`);

  const debug = await get(port, '/debug/mesh');
  t.is(debug.status, 200);
  t.regex(debug.type, /^application\/json/);
  const members = (JSON.parse(debug.body) as { members: { node: string; state: string }[] }).members;
  t.deepEqual(members.map((m) => m.node).sort(), NAMES);
});

test.serial('a member stops answering: alive drops, failed probes and the dead count rise', async (t) => {
  const { speakers, port } = t.context;
  const before = (await scrape(port)).series;
  const failedBefore = before.get('meshlb_mesh_probes_failed_total') ?? 0;
  const suspicionsBefore = before.get('meshlb_mesh_suspicions_raised_total') ?? 0;
  await speakers[2]?.stop();
  const after = await waitFor(
    'm3 dead in the metrics of m1',
    async () => {
      const { series } = await scrape(port);
      return series.get('meshlb_mesh_members{state="alive"}') === 2 &&
        series.get('meshlb_mesh_members{state="dead"}') === 1 &&
        (series.get('meshlb_mesh_probes_failed_total') ?? 0) > failedBefore
        ? series
        : undefined;
    },
    15_000,
  );
  t.true((after.get('meshlb_mesh_suspicions_raised_total') ?? 0) > suspicionsBefore);
  t.is(after.get('meshlb_mesh_members{state="suspect"}'), 0);
  // Counters never went down in between.
  for (const name of [
    'meshlb_mesh_probes_total',
    'meshlb_mesh_messages_sent_total',
    'meshlb_mesh_sent_bytes_total',
  ])
    t.true(sum(after, name) >= sum(before, name), name);
});
