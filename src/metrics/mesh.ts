import { Histogram, type Registry } from 'prom-client';
import type { TransportStats } from '../mesh/libp2p/transport-stats.ts';
import type { Membership } from '../mesh/membership.ts';
import type { MemberState } from '../mesh/messages.ts';
import type { Pulses } from '../mesh/pulse.ts';
import type { FastWatch } from '../mesh/watch.ts';
import { byLabel, mirroredCounter, mirroredGauge } from './mirror.ts';

/** What the mesh metrics read: a Membership, and optionally the heirs' watch and the libp2p transport. */
export interface MeshSources {
  membership: Pick<Membership, 'stats' | 'members' | 'awareness' | 'incarnation'>;
  watch?: Pick<FastWatch, 'watching' | 'pulsing'> | undefined;
  /** The pulse's counts (mesh/pulse.ts), when it runs. */
  pulses?: Pick<Pulses, 'stats' | 'silencesHeardAgain'> | undefined;
  transport?:
    | {
        stats: Pick<
          TransportStats,
          | 'dropped'
          | 'bytesSentByType'
          | 'bytesReceivedByType'
          | 'datagramsIn'
          | 'datagramsOut'
          | 'revived'
          | 'knocksRefused'
        >;
        /** Members heard from, by the highest codec version they read (PeerVersions.counts). */
        peerVersions?(): Record<string, number>;
      }
    | undefined;
}

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** Probe round trips on a LAN are 0.1–2 ms; a busy loop or a WAN adds tens to hundreds. */
const RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * The mesh's metrics (docs/metrics.md): member counts by state, probe and
 * suspicion counters, messages and bytes by type, drops by reason, Lifeguard
 * local health, incarnation, and the announcers this member watches. Counters
 * mirror MembershipStats and TransportStats at scrape time; every probe RTT
 * lands in the histogram once, as it is measured (MembershipStats.onRtt).
 */
export function registerMeshMetrics(registry: Registry, src: MeshSources): void {
  const { membership, watch, transport, pulses } = src;
  const stats = membership.stats;
  const counter = (name: string, help: string, read: () => number): void => {
    mirroredCounter(registry, { name, help, read: () => [[{}, read()]] });
  };

  mirroredGauge(registry, {
    name: 'meshlb_mesh_members',
    help: 'Members this speaker knows (itself included), by state.',
    labelNames: ['state'],
    read: () => {
      const counts: Record<string, number> = {};
      for (const m of membership.members()) counts[m.state] = (counts[m.state] ?? 0) + 1;
      return byLabel('state', counts, STATES);
    },
  });
  counter('meshlb_mesh_probes_total', 'Direct probes sent in probe rounds.', () => stats.probes);
  counter(
    'meshlb_mesh_probes_failed_total',
    'Probes that got no ack, directly or through helpers.',
    () => stats.probesFailed,
  );
  counter(
    'meshlb_mesh_indirect_probes_total',
    'Probes that went indirect (ping-req to helpers) after the direct timeout.',
    () => stats.indirectProbes,
  );
  const rtt = new Histogram({
    name: 'meshlb_mesh_probe_rtt_seconds',
    help: 'Round-trip time of acknowledged direct probes.',
    buckets: RTT_BUCKETS,
    registers: [registry],
  });
  stats.onRtt((ms) => {
    rtt.observe(ms / 1000);
  });
  counter(
    'meshlb_mesh_suspicions_raised_total',
    'Members this speaker started suspecting (its own accusations and those it heard).',
    () => stats.suspicionsRaised,
  );
  counter(
    'meshlb_mesh_suspicions_refuted_total',
    'Suspicions (or death verdicts) of this speaker that it refuted by raising its incarnation.',
    () => stats.refutations,
  );
  counter(
    'meshlb_mesh_suspicions_confirmed_total',
    'Suspicions that expired into a dead verdict given by this speaker.',
    () => stats.suspicionsConfirmed,
  );
  mirroredCounter(registry, {
    name: 'meshlb_mesh_messages_sent_total',
    help: 'Mesh messages sent, by type (each once, whatever the paths it took).',
    labelNames: ['type'],
    read: () => byLabel('type', stats.messagesSent),
  });
  mirroredCounter(registry, {
    name: 'meshlb_mesh_messages_received_total',
    help: 'Mesh messages received and authenticated, by type.',
    labelNames: ['type'],
    read: () => byLabel('type', stats.messagesReceived),
  });
  if (transport?.peerVersions !== undefined) {
    const t = transport;
    mirroredGauge(registry, {
      name: 'meshlb_mesh_peer_protocol_versions',
      help: 'Members this speaker has heard from, by the highest mesh frame version they read (during a rolling upgrade, the lower versions are the speakers not yet upgraded).',
      labelNames: ['version'],
      read: () => byLabel('version', t.peerVersions?.() ?? {}),
    });
  }
  if (transport !== undefined) {
    mirroredCounter(registry, {
      name: 'meshlb_mesh_sent_bytes_total',
      help: 'Encoded bytes of mesh messages handed to streams, datagrams and gossipsub, by type.',
      labelNames: ['type'],
      read: () => byLabel('type', transport.stats.bytesSentByType),
    });
    mirroredCounter(registry, {
      name: 'meshlb_mesh_received_bytes_total',
      help: 'Encoded bytes of mesh messages received (decoded, before the sender check), by type.',
      labelNames: ['type'],
      read: () => byLabel('type', transport.stats.bytesReceivedByType),
    });
    counter(
      'meshlb_mesh_datagrams_sent_total',
      'Probes, checks and their answers sent as UDP datagrams.',
      () => transport.stats.datagramsOut,
    );
    counter(
      'meshlb_mesh_datagrams_received_total',
      'UDP datagrams received on the mesh port (any content; bad ones are also counted as drops).',
      () => transport.stats.datagramsIn,
    );
    counter(
      'meshlb_mesh_connections_revived_total',
      'Connections dropped because a member believed dead answered (the push-pull then dials afresh).',
      () => transport.stats.revived,
    );
    counter(
      'meshlb_mesh_knocks_refused_total',
      'Members whose mesh port refused a connect right after their connection closed: their process was gone (a crash noticed at once).',
      () => transport.stats.knocksRefused,
    );
  }
  counter(
    'meshlb_mesh_push_pulls_total',
    'Push-pull state syncs this speaker started (its join, the periodic one, on reaching a dead member again).',
    () => stats.pushPulls,
  );
  counter(
    'meshlb_mesh_join_retries_total',
    'Times this speaker asked its seeds again because no push-pull answered its join within reconnectIntervalMs (it answers for no IP until one does).',
    () => stats.joinRetries,
  );
  mirroredCounter(registry, {
    name: 'meshlb_mesh_dropped_messages_total',
    help: 'Mesh messages or frames dropped, by reason (the core and the libp2p transport).',
    labelNames: ['reason'],
    read: () => {
      const merged: Record<string, number> = { ...stats.dropped };
      for (const [k, v] of Object.entries(transport?.stats.dropped ?? {})) merged[k] = (merged[k] ?? 0) + v;
      return byLabel('reason', merged);
    },
  });
  counter(
    'meshlb_mesh_stale_updates_total',
    'Membership updates ignored as older than what this speaker knows.',
    () => stats.stale,
  );
  counter(
    'meshlb_mesh_loop_errors_total',
    "Periodic membership ticks (probe round, push-pull, reconnect and reap) that threw; the loop went on. Any is a bug: the speaker's log has the error.",
    () => stats.loopErrors,
  );
  counter(
    'meshlb_mesh_send_errors_total',
    "Messages the mesh transport threw on when sending; the protocol counted them as lost. Any is a bug: the speaker's log has the error.",
    () => stats.sendErrors,
  );
  counter(
    'meshlb_mesh_timer_lag_total',
    "Mesh timers that fired late enough to mean this process's event loop stalled.",
    () => stats.lagEvents,
  );
  mirroredGauge(registry, {
    name: 'meshlb_mesh_local_health_score',
    help: "Lifeguard local health (awareness): 0 is healthy; higher stretches this speaker's probe timeouts by score + 1.",
    read: () => [[{}, membership.awareness]],
  });
  mirroredGauge(registry, {
    name: 'meshlb_mesh_incarnation',
    help: "This speaker's incarnation number (rises with each refutation and restart).",
    read: () => [[{}, membership.incarnation]],
  });
  if (watch !== undefined)
    mirroredGauge(registry, {
      name: 'meshlb_mesh_watched_announcers',
      help: 'Announcers this speaker watches closely as an heir (the fast failover path).',
      read: () => [[{}, watch.watching.length]],
    });
  if (pulses !== undefined) registerPulseMetrics(registry, pulses, watch);
}

/** The pulse (docs/election.md#the-pulse): frames by outcome, subscribers, announcers heard. */
function registerPulseMetrics(
  registry: Registry,
  pulses: Pick<Pulses, 'stats' | 'silencesHeardAgain'>,
  watch: Pick<FastWatch, 'pulsing'> | undefined,
): void {
  const counter = (name: string, help: string, read: () => number): void => {
    mirroredCounter(registry, { name, help, read: () => [[{}, read()]] });
  };
  counter(
    'meshlb_pulse_sent_total',
    'Pulse datagrams sent (pulses to heirs, subscriptions to announcers).',
    () => pulses.stats()?.sent ?? 0,
  );
  counter(
    'meshlb_pulse_send_errors_total',
    'Pulse datagrams the kernel refused to send.',
    () => pulses.stats()?.sendErrors ?? 0,
  );
  mirroredCounter(registry, {
    name: 'meshlb_pulse_received_total',
    help: 'Pulse datagrams received, by outcome: a pulse or a subscription accepted, or dropped (malformed, bad_tag, replayed, unknown sender).',
    labelNames: ['result'],
    read: () => {
      const st = pulses.stats();
      if (st === undefined) return [];
      return [
        [{ result: 'pulse' }, st.accepted],
        [{ result: 'subscription' }, st.subscriptions],
        [{ result: 'malformed' }, st.malformed],
        [{ result: 'bad_tag' }, st.badTag],
        [{ result: 'replayed' }, st.replayed],
        [{ result: 'unknown' }, st.unknown],
      ];
    },
  });
  counter(
    'meshlb_pulse_silences_total',
    "Watched announcers' silences (no pulse for pulseSilenceMs) that ended with their pulses back: each cost a confirming check. Many: loss, or starved speakers.",
    () => pulses.silencesHeardAgain,
  );
  mirroredGauge(registry, {
    name: 'meshlb_pulse_subscribers',
    help: 'Heirs this speaker pulses (subscribed in the last 3.5 s).',
    read: () => [[{}, pulses.stats()?.subscribers ?? 0]],
  });
  if (watch !== undefined)
    mirroredGauge(registry, {
      name: 'meshlb_pulse_heard_announcers',
      help: 'Watched announcers whose pulses arrive (the others are checked: a blocked pulse port, an older speaker).',
      read: () => [[{}, watch.pulsing.length]],
    });
}
