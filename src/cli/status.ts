import process from 'node:process';
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { CliUsageError } from './errors.ts';
import { clusterLists, fetchDebug, table } from './inspect.ts';
import { placementSpread } from '../metrics/index.ts';
import { loadKubeClient, namespaceOf, picker, readNamespaceFile } from '../config/index.ts';

const HELP = `usage: meshlb status [--speaker URL] [--kubeconfig PATH] [--namespace NS]

Shows the mesh and who announces which service IP.
  --speaker URL     a speaker's debug endpoint (http://127.0.0.1:7474 on its node, or
                    through kubectl -n meshlb-system port-forward pod/<speaker> 7474):
                    members with their mesh states and incarnations, and that
                    speaker's decisions. Without it: the speaker Pods and the
                    ServiceAnnouncement objects from the API server (which lag
                    the wire by up to a second).
  --kubeconfig, --namespace: as for "meshlb speaker" (MESHLB_KUBECONFIG, MESHLB_NAMESPACE).

Why an IP is announced where it is: meshlb explain <namespace>/<service>.`;

async function runStatus(args: string[]): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args,
      options: { speaker: { type: 'string' }, kubeconfig: { type: 'string' }, namespace: { type: 'string' } },
    }).values;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const pick = picker(values, process.env);
  if (values.speaker !== undefined) {
    const d = await fetchDebug(values.speaker);
    console.log(
      `members (the mesh as ${d.node} sees it${d.notReady.length > 0 ? `; not ready: ${d.notReady.join(', ')}` : ''}):`,
    );
    console.log(
      table([
        ['NODE', 'STATE', 'INCARNATION'],
        ...d.members.map((m) => [m.node, m.state, String(m.incarnation)]),
      ]),
    );
    console.log('\naddresses:');
    console.log(
      table([
        ['IP', 'ANNOUNCER', 'CAUSE', 'EPOCH', 'HEIRS', 'SERVICES'],
        ...d.decisions.map((x) => [
          x.ip,
          x.announcer ?? '(none)',
          x.cause,
          String(x.epoch ?? '-'),
          x.heirs.join(',') || '-',
          x.services.join(','),
        ]),
      ]),
    );
    perNode(
      d.decisions.flatMap((x) => (x.announcer === null ? [] : [x.announcer])),
      d.members.filter((m) => m.state === 'alive').map((m) => m.node),
      d.balance?.bound ?? undefined,
    );
    return 0;
  }
  const [kc] = loadKubeClient(pick('kubeconfig', 'MESHLB_KUBECONFIG')?.value, process.env);
  const namespace = namespaceOf(pick('namespace', 'MESHLB_NAMESPACE'), process.env, readNamespaceFile);
  const lists = await clusterLists(kc, namespace);
  console.log('speakers (Pods; mesh states need --speaker):');
  console.log(
    table([
      ['NODE', 'POD', 'PHASE', 'PEER ID'],
      ...lists.speakerPods.map((p) => [
        p.spec?.nodeName ?? '-',
        p.metadata?.name ?? '',
        p.status?.phase ?? '-',
        p.metadata?.annotations?.['meshlb.io/peer-id'] ?? '(not published)',
      ]),
    ]),
  );
  console.log('\naddresses (ServiceAnnouncements):');
  const rows = lists.announcements.flatMap((a) =>
    (a.status?.announcements ?? []).map((e) => [
      e.ip,
      `${a.metadata.namespace ?? ''}/${a.metadata.name}`,
      e.node,
      String(e.epoch),
      e.since,
      (e.interfaces ?? []).join(',') || 'all',
    ]),
  );
  console.log(table([['IP', 'SERVICE', 'NODE', 'EPOCH', 'SINCE', 'INTERFACES'], ...rows]));
  // An IP shared by several Services is one announcement: count each once.
  const byIp = new Map(rows.map((r) => [r[0] ?? '', r[2] ?? '']));
  perNode(
    [...byIp.values()],
    lists.speakerPods.flatMap((p) => (p.spec?.nodeName === undefined ? [] : [p.spec.nodeName])),
  );
  for (const u of lists.unannounced) console.log(`not announced: ${u.ip} of ${u.service}: ${u.reason}`);
  return 0;
}

/** Addresses per node (every node listed, 0 included) and the spread: max over mean. */
function perNode(announcers: readonly string[], nodes: readonly string[], bound?: number): void {
  const counts = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const a of announcers) counts.set(a, (counts.get(a) ?? 0) + 1);
  const spread = placementSpread([...counts.values()]);
  console.log(
    `\naddresses per node (spread ${spread.toFixed(2)}: the busiest over the mean${bound === undefined ? '' : `; load bound ${bound}`}):`,
  );
  console.log(
    table([
      ['NODE', 'ADDRESSES'],
      ...[...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, c]) => [n, String(c)]),
    ]),
  );
}

export const status: Command = {
  name: 'status',
  summary: 'show the mesh members and who announces which IP',
  help: HELP,
  run: runStatus,
};
