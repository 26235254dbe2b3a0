// Counters that mirror a module's own totals (collect() increments by the
// growth since the last scrape), gauges read at scrape time, and each register
// function on fakes or pure cores: the series they export, and that promtool
// accepts every name, type and help text of a registry holding them all.
import test from 'ava';
import { promtoolCheckMetrics } from '../helpers/promtool.ts';
import { Registry } from 'prom-client';
import { Responder } from '../../src/arp/responder.ts';
import type { Link } from '../../src/arp/link.ts';
import { VirtualClock } from '../../src/clock/index.ts';
import type { ControllerStats } from '../../src/controller/index.ts';
import { emptyStats } from '../../src/controller/stats.ts';
import type { PoolCounts } from '../../src/kube/allocator/index.ts';
import type { WriterStats } from '../../src/kube/announcements/writer.ts';
import type { MemberView } from '../../src/mesh/membership.ts';
import { TransportStats } from '../../src/mesh/libp2p/transport-stats.ts';
import { MembershipStats } from '../../src/mesh/stats.ts';
import {
  byLabel,
  createRegistry,
  mirroredCounter,
  mirroredGauge,
  oncePerTurn,
  registerAnnouncementMetrics,
  registerPlacementMetrics,
  placementSpread,
  registerControllerMetrics,
  registerMeshMetrics,
  registerViewMetrics,
  registerWireMetrics,
  SpeakerMetrics,
} from '../../src/metrics/index.ts';
import { captured } from './arp-fixtures.ts';

/** The value of one series in the text format ('absent' when there is none). */
async function value(registry: Registry, series: string): Promise<number | 'absent'> {
  const text = await registry.metrics();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === series) return Number(line.slice(at + 1));
  }
  return 'absent';
}

const promtool = promtoolCheckMetrics;

test('a mirrored counter follows the total it mirrors, scrape by scrape', async (t) => {
  const registry = new Registry();
  let total = 0;
  mirroredCounter(registry, { name: 'meshlb_test_things_total', help: 'things', read: () => [[{}, total]] });
  t.is(await value(registry, 'meshlb_test_things_total'), 0, 'exported at 0 before anything happened');
  total = 5;
  t.is(await value(registry, 'meshlb_test_things_total'), 5);
  t.is(await value(registry, 'meshlb_test_things_total'), 5, 'a second scrape adds nothing');
  total = 12;
  t.is(await value(registry, 'meshlb_test_things_total'), 12);
  // The source started again from zero (a reopened socket): the counter never goes down.
  total = 3;
  t.is(await value(registry, 'meshlb_test_things_total'), 15);
  total = 4;
  t.is(await value(registry, 'meshlb_test_things_total'), 16);
  // Values that are not counts are ignored.
  total = Number.NaN;
  t.is(await value(registry, 'meshlb_test_things_total'), 16);
});

test('labelled: known label values exported at 0, new ones as they appear, each mirrored on its own', async (t) => {
  const registry = new Registry();
  const counts: Record<string, number> = {};
  mirroredCounter(registry, {
    name: 'meshlb_test_drops_total',
    help: 'drops',
    labelNames: ['reason'],
    read: () => byLabel('reason', counts, ['queue-full']),
  });
  t.is(await value(registry, 'meshlb_test_drops_total{reason="queue-full"}'), 0);
  t.is(await value(registry, 'meshlb_test_drops_total{reason="dial"}'), 'absent');
  counts.dial = 2;
  counts['queue-full'] = 1;
  t.is(await value(registry, 'meshlb_test_drops_total{reason="dial"}'), 2);
  t.is(await value(registry, 'meshlb_test_drops_total{reason="queue-full"}'), 1);
  counts.dial = 7;
  t.is(await value(registry, 'meshlb_test_drops_total{reason="dial"}'), 7);
  t.is(await value(registry, 'meshlb_test_drops_total{reason="queue-full"}'), 1);
});

test('a mirrored gauge shows exactly the series read returns', async (t) => {
  const registry = new Registry();
  let ifaces: [string, number][] = [
    ['eth0', 3],
    ['eth1', 4],
  ];
  mirroredGauge(registry, {
    name: 'meshlb_test_queue',
    help: 'queue',
    labelNames: ['interface'],
    read: () => ifaces.map(([i, v]) => [{ interface: i }, v] as const),
  });
  t.is(await value(registry, 'meshlb_test_queue{interface="eth1"}'), 4);
  ifaces = [['eth0', 1]];
  t.is(await value(registry, 'meshlb_test_queue{interface="eth0"}'), 1);
  t.is(
    await value(registry, 'meshlb_test_queue{interface="eth1"}'),
    'absent',
    'a removed interface disappears',
  );
});

test('oncePerTurn: one read per scrape, a fresh one the next', async (t) => {
  let reads = 0;
  const read = oncePerTurn(() => ++reads);
  t.is(read(), 1);
  t.is(read(), 1);
  await Promise.resolve();
  t.is(read(), 2);
});

function fakeMembership() {
  const stats = new MembershipStats();
  let members: MemberView[] = [];
  const membership = {
    stats,
    members: () => members,
    awareness: 0,
    incarnation: 1_700_000_000,
  };
  const view = (node: string, state: MemberView['state']): MemberView => ({
    node,
    state,
    incarnation: 1,
    since: 0,
  });
  return {
    membership,
    stats,
    setMembers: (m: [string, MemberView['state']][]) => {
      members = m.map(([n, s]) => view(n, s));
    },
  };
}

test('mesh: members by state, core and transport counters, every RTT in the histogram exactly once', async (t) => {
  const registry = new Registry();
  const { membership, stats, setMembers } = fakeMembership();
  const transport = { stats: new TransportStats() };
  const watch = { watching: ['n2', 'n3'], pulsing: ['n2'] };
  const counts = {
    sent: 0,
    sendErrors: 0,
    received: 0,
    accepted: 0,
    malformed: 0,
    badTag: 0,
    replayed: 0,
    unknown: 0,
    subscriptions: 0,
    subscribers: 0,
  };
  const pulses = { stats: () => counts, silencesHeardAgain: 7 };
  registerMeshMetrics(registry, { membership, watch, transport, pulses });
  setMembers([
    ['n1', 'alive'],
    ['n2', 'alive'],
    ['n3', 'suspect'],
  ]);
  t.is(await value(registry, 'meshlb_mesh_members{state="alive"}'), 2);
  t.is(await value(registry, 'meshlb_mesh_members{state="suspect"}'), 1);
  t.is(await value(registry, 'meshlb_mesh_members{state="dead"}'), 0);
  t.is(await value(registry, 'meshlb_mesh_members{state="left"}'), 0);
  stats.probes = 10;
  stats.probesFailed = 2;
  stats.refutations = 1;
  stats.sent('ping');
  stats.sent('ping');
  stats.received('ack');
  stats.drop('unknown-seq');
  transport.stats.drop('unknown-seq');
  transport.stats.drop('dial');
  transport.stats.sentBytes('ping', 40);
  transport.stats.receivedBytes('gossip', 100);
  membership.awareness = 3;
  t.is(await value(registry, 'meshlb_mesh_probes_total'), 10);
  t.is(await value(registry, 'meshlb_mesh_probes_failed_total'), 2);
  t.is(await value(registry, 'meshlb_mesh_suspicions_refuted_total'), 1);
  t.is(await value(registry, 'meshlb_mesh_messages_sent_total{type="ping"}'), 2);
  t.is(await value(registry, 'meshlb_mesh_messages_received_total{type="ack"}'), 1);
  t.is(
    await value(registry, 'meshlb_mesh_dropped_messages_total{reason="unknown-seq"}'),
    2,
    'core and transport add up',
  );
  t.is(await value(registry, 'meshlb_mesh_dropped_messages_total{reason="dial"}'), 1);
  t.is(await value(registry, 'meshlb_mesh_sent_bytes_total{type="ping"}'), 40);
  t.is(await value(registry, 'meshlb_mesh_received_bytes_total{type="gossip"}'), 100);
  transport.stats.datagramsOut = 7;
  transport.stats.datagramsIn = 5;
  transport.stats.revived = 1;
  transport.stats.knocksRefused = 2;
  t.is(await value(registry, 'meshlb_mesh_datagrams_sent_total'), 7);
  t.is(await value(registry, 'meshlb_mesh_datagrams_received_total'), 5);
  t.is(await value(registry, 'meshlb_mesh_connections_revived_total'), 1);
  t.is(await value(registry, 'meshlb_mesh_knocks_refused_total'), 2);
  t.is(await value(registry, 'meshlb_mesh_local_health_score'), 3);
  t.is(await value(registry, 'meshlb_mesh_incarnation'), 1_700_000_000);
  t.is(await value(registry, 'meshlb_mesh_watched_announcers'), 2);
  // The pulse: counts mirrored as counters, by outcome; the heard announcers.
  t.is(await value(registry, 'meshlb_pulse_heard_announcers'), 1);
  Object.assign(counts, { sent: 500, accepted: 480, badTag: 3, subscriptions: 2, subscribers: 2 });
  t.is(await value(registry, 'meshlb_pulse_sent_total'), 500);
  t.is(await value(registry, 'meshlb_pulse_received_total{result="pulse"}'), 480);
  t.is(await value(registry, 'meshlb_pulse_received_total{result="bad_tag"}'), 3);
  t.is(await value(registry, 'meshlb_pulse_subscribers'), 2);
  t.is(await value(registry, 'meshlb_pulse_silences_total'), 7);

  // The ring of recent RTTs overwrites; the histogram sees each one once, between scrapes too.
  for (let i = 0; i < 300; i++) stats.observeRtt(2);
  t.is(await value(registry, 'meshlb_mesh_probe_rtt_seconds_count'), 300);
  t.is(await value(registry, 'meshlb_mesh_probe_rtt_seconds_bucket{le="0.0025"}'), 300);
  t.is(await value(registry, 'meshlb_mesh_probe_rtt_seconds_bucket{le="0.001"}'), 0);
  t.is(await value(registry, 'meshlb_mesh_probe_rtt_seconds_count'), 300, 'a scrape observes nothing itself');
  const sum = await value(registry, 'meshlb_mesh_probe_rtt_seconds_sum');
  t.true(typeof sum === 'number' && Math.abs(sum - 0.6) < 1e-9, String(sum));
});

test('mesh without the watch or the transport: their metrics are left out', async (t) => {
  const registry = new Registry();
  registerMeshMetrics(registry, { membership: fakeMembership().membership });
  const text = await registry.metrics();
  t.notRegex(text, /meshlb_mesh_watched_announcers|meshlb_mesh_sent_bytes_total/);
  t.regex(text, /meshlb_mesh_members/);
});

class RecordingLink implements Link {
  readonly name = 'eth0';
  readonly mac = '02:00:00:00:00:01';
  send(): void {
    // nothing: the responder only needs it to succeed
  }
  join(): void {
    // no multicast here
  }
  leave(): void {
    // no multicast here
  }
}

test('wire: requests counted by protocol as frames arrive; replies, ignored frames, sockets per interface', async (t) => {
  const registry = new Registry();
  const responder = new Responder({ clock: new VirtualClock() });
  responder.addLink(new RecordingLink(), true);
  const sockets = new Map([['eth0', { received: 0, dropped: 0 }]]);
  registerWireMetrics(registry, { responder, socketStats: () => sockets });
  t.is(await value(registry, 'meshlb_wire_requests_total{protocol="arp"}'), 0);
  t.is(await value(registry, 'meshlb_wire_requests_total{protocol="ndp"}'), 0);
  responder.announce('192.0.2.2');
  for (const f of [captured.arpRequest, captured.garpRequest, captured.arpProbe, captured.arpReply])
    responder.receive('eth0', { data: f, pktType: 'broadcast' });
  for (const f of [captured.ns, captured.dadNs, captured.na])
    responder.receive('eth0', { data: f, pktType: 'multicast' });
  responder.receive('eth0', { data: captured.arpRequest.subarray(0, 21), pktType: 'broadcast' });
  sockets.set('eth0', { received: 9, dropped: 1 });
  t.is(
    await value(registry, 'meshlb_wire_requests_total{protocol="arp"}'),
    3,
    'requests, gratuitous and probe; not the reply',
  );
  t.is(
    await value(registry, 'meshlb_wire_requests_total{protocol="ndp"}'),
    2,
    'solicitations; not the advertisement',
  );
  t.is(await value(registry, 'meshlb_wire_replies_total{protocol="arp"}'), 1, 'the request for 192.0.2.2');
  t.is(
    await value(registry, 'meshlb_wire_ignored_frames_total{reason="not-ours"}'),
    responder.stats().dropped['not-ours'],
  );
  t.is(await value(registry, 'meshlb_wire_ignored_frames_total{reason="malformed"}'), 1);
  t.is(await value(registry, 'meshlb_wire_received_frames_total{interface="eth0"}'), 9);
  t.is(await value(registry, 'meshlb_wire_kernel_drops_total{interface="eth0"}'), 1);
  t.is(await value(registry, 'meshlb_wire_probes_total'), 0);
  t.is(await value(registry, 'meshlb_wire_gratuitous_bursts_total{protocol="arp"}'), 1);
  t.is(await value(registry, 'meshlb_wire_peer_answers_total'), 0);
});

function controllerStats(over: Partial<ControllerStats> = {}): ControllerStats {
  return { ...emptyStats(), ...over };
}

test('controller: pools per family, failures by reason from zero, writes by resource and result, leadership', async (t) => {
  const registry = new Registry();
  let stats = controllerStats();
  let pools: PoolCounts[] = [];
  const controller = { stats: () => stats, pools: () => pools, leading: false };
  registerControllerMetrics(registry, controller);
  t.is(await value(registry, 'meshlb_leader'), 0);
  t.is(await value(registry, 'meshlb_allocation_failures_total{reason="PoolExhausted"}'), 0);
  t.is(await value(registry, 'meshlb_api_writes_total{resource="services/status",result="conflict"}'), 0);
  t.notRegex(await registry.metrics(), /^meshlb_pool_capacity_addresses\{/m, 'a standby has no pools');
  controller.leading = true;
  pools = [
    { pool: 'v4', ipv4: { assigned: 3n, available: 13n }, ipv6: { assigned: 0n, available: 0n } },
    {
      pool: 'dual',
      ipv4: { assigned: 1n, available: 0n },
      ipv6: { assigned: 1n, available: 2n ** 64n - 1n },
    },
  ];
  stats = controllerStats({
    allocations: 4,
    allocationFailures: { PoolExhausted: 2 },
    conflicts: 1,
    restoreConflicts: 2,
    oscillationBreaks: 1,
    pausedServices: 1,
    apiWrites: {
      'services/status': { ok: 4, conflict: 1, error: 0 },
      'ippools/status': { ok: 2, conflict: 0, error: 1 },
      'l2advertisements/status': { ok: 1, conflict: 0, error: 0 },
    },
  });
  t.is(await value(registry, 'meshlb_leader'), 1);
  t.is(await value(registry, 'meshlb_pool_capacity_addresses{pool="v4",family="ipv4"}'), 16);
  t.is(await value(registry, 'meshlb_pool_used_addresses{pool="v4",family="ipv4"}'), 3);
  t.is(await value(registry, 'meshlb_pool_capacity_addresses{pool="v4",family="ipv6"}'), 'absent');
  t.is(await value(registry, 'meshlb_pool_capacity_addresses{pool="dual",family="ipv6"}'), 2 ** 64);
  t.is(await value(registry, 'meshlb_pool_used_addresses{pool="dual",family="ipv4"}'), 1);
  t.is(await value(registry, 'meshlb_allocations_total'), 4);
  t.is(await value(registry, 'meshlb_allocation_failures_total{reason="PoolExhausted"}'), 2);
  t.is(await value(registry, 'meshlb_conflicts_total{kind="status_owned_by_other"}'), 1);
  t.is(await value(registry, 'meshlb_conflicts_total{kind="restore"}'), 2);
  t.is(await value(registry, 'meshlb_oscillation_breaks_total'), 1);
  t.is(await value(registry, 'meshlb_paused_services'), 1);
  t.is(await value(registry, 'meshlb_api_writes_total{resource="ippools/status",result="error"}'), 1);
  t.is(await value(registry, 'meshlb_api_writes_total{resource="services/status",result="ok"}'), 4);
});

test('speaker: announced IPs, failovers by cause from zero, withdrawals, reconcile durations, view and writer', async (t) => {
  const registry = new Registry();
  const m = new SpeakerMetrics(registry);
  const view = { restarts: 0, synced: false };
  const writer = {
    stats: { creates: 0, deletes: 0, applies: 0, reads: 0, failures: 0 } satisfies WriterStats,
  };
  registerViewMetrics(registry, view);
  registerAnnouncementMetrics(registry, writer);
  t.is(await value(registry, 'meshlb_announced_ips{family="ipv6"}'), 0);
  t.is(await value(registry, 'meshlb_failovers_total{cause="failback"}'), 0);
  t.is(await value(registry, 'meshlb_caches_synced'), 0);
  m.announced({ ipv4: 3, ipv6: 1 });
  m.failover('takeover');
  m.failover('takeover');
  m.withdrawn();
  m.decisions(0.0004);
  view.restarts = 2;
  view.synced = true;
  writer.stats.applies = 5;
  writer.stats.failures = 1;
  writer.stats.reads = 2;
  t.is(await value(registry, 'meshlb_announced_ips{family="ipv4"}'), 3);
  t.is(await value(registry, 'meshlb_failovers_total{cause="takeover"}'), 2);
  t.is(await value(registry, 'meshlb_withdrawals_total'), 1);
  t.is(await value(registry, 'meshlb_reconcile_duration_seconds_bucket{le="0.0005"}'), 1);
  t.is(await value(registry, 'meshlb_informer_restarts_total'), 2);
  t.is(await value(registry, 'meshlb_caches_synced'), 1);
  t.is(await value(registry, 'meshlb_announcement_writes_total{result="applied"}'), 5);
  t.is(await value(registry, 'meshlb_announcement_writes_total{result="failed"}'), 1);
  t.is(await value(registry, 'meshlb_announcement_reads_total'), 2);
});

test('promtool accepts every meshlb metric: names, types, units, help', async (t) => {
  const registry = createRegistry('speaker');
  const { membership, stats, setMembers } = fakeMembership();
  const transport = { stats: new TransportStats() };
  registerMeshMetrics(registry, {
    membership,
    watch: { watching: [], pulsing: [] },
    transport,
    pulses: { stats: () => undefined, silencesHeardAgain: 0 },
  });
  setMembers([['n1', 'alive']]);
  stats.sent('ping');
  stats.drop('unknown-seq');
  stats.observeRtt(1);
  transport.stats.sentBytes('ping', 10);
  transport.stats.receivedBytes('ack', 10);
  const responder = new Responder({ clock: new VirtualClock() });
  registerWireMetrics(registry, {
    responder,
    socketStats: () => new Map([['eth0', { received: 1, dropped: 0 }]]),
  });
  new SpeakerMetrics(registry).decisions(0.001);
  registerViewMetrics(registry, { restarts: 0, synced: true });
  registerAnnouncementMetrics(registry, {
    stats: { creates: 0, deletes: 0, applies: 0, reads: 0, failures: 0 },
  });
  registerPlacementMetrics(registry, { claims: { all: () => [{ node: 'n1' }] }, alive: () => ['n1'] });
  // The controller's metrics live in another process, but a name must not clash with the speaker's either.
  registerControllerMetrics(registry, {
    stats: () => controllerStats(),
    pools: () => [
      { pool: 'p', ipv4: { assigned: 1n, available: 1n }, ipv6: { assigned: 0n, available: 0n } },
    ],
    leading: true,
  });
  const text = await registry.metrics();
  const r = promtool(text);
  t.is(r.output, '', r.output);
  t.is(r.status, 0);
  // One prefix on meshlb's own (the process and Node.js defaults keep their
  // standard names), and `_total` only on counters.
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    t.true(/^(meshlb|process|nodejs)_/.test(name ?? ''), name);
    t.is(name?.endsWith('_total'), type === 'counter', `${name ?? ''} is a ${type ?? ''}`);
  }
});

test('placement: addresses per alive node (0 included, dead nodes left out) and the spread, max over mean', async (t) => {
  const registry = createRegistry('speaker');
  const claims = [{ node: 'n1' }, { node: 'n1' }, { node: 'n1' }, { node: 'n2' }, { node: 'gone' }];
  let alive = ['n1', 'n2', 'n3'];
  registerPlacementMetrics(registry, { claims: { all: () => claims }, alive: () => alive });
  const text = await registry.metrics();
  t.regex(text, /meshlb_placement_addresses\{node="n1"\} 3/);
  t.regex(text, /meshlb_placement_addresses\{node="n3"\} 0/);
  t.notRegex(text, /node="gone"/);
  // 4 IPs over 3 nodes: the busiest holds 3, the mean is 4/3.
  t.regex(text, /meshlb_placement_spread 2\.25/);
  alive = ['n1'];
  t.regex(await registry.metrics(), /meshlb_placement_spread 1\n/);
  t.is(placementSpread([]), 0);
  t.is(placementSpread([0, 0]), 0);
  t.is(placementSpread([2, 2, 2]), 1);
});
