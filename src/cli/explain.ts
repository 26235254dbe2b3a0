import process from 'node:process';
import { parseArgs } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { objectPath } from '../kube/client/index.ts';
import { BALANCE_SLACK, explain as explainIp, REASONS, type Reason } from '../election/index.ts';
import { formatIp, parseIp } from '../ip/index.ts';
import type { Command } from './command.ts';
import { CliUsageError } from './errors.ts';
import { clusterLists, fetchDebug, table, type SpeakerDebug } from './inspect.ts';
import { balanceSlackOf } from '../speaker/index.ts';
import { loadKubeClient, namespaceOf, picker, readNamespaceFile } from '../config/index.ts';

const HELP = `usage: meshlb explain <namespace>/<service> [--speaker URL] [--balance-slack E] [--kubeconfig PATH]

Why each address of a Service is announced by the node that announces it:
the ranked candidates (rendezvous hashing of node and IP) and, for every other
node, why it was passed over — the election's own code run on the cluster's
objects, so it says what the speakers decide.
  --speaker URL   a speaker's debug endpoint (http://127.0.0.1:7474 on its node, or
                  through kubectl -n meshlb-system port-forward pod/<speaker> 7474): use the mesh's
                  member states and claims as that speaker sees them. Without
                  it, every node whose speaker Pod published its identity
                  counts as alive and the claims come from ServiceAnnouncements.
  --balance-slack E  the speakers' load bound setting (0.25 by default, or off);
                  with --speaker, that speaker's.
  --kubeconfig, --namespace: as for "meshlb speaker".`;

async function runExplain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        speaker: { type: 'string' },
        'balance-slack': { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
      },
    });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const [target, ...extra] = parsed.positionals;
  const m = /^([a-z0-9-]{1,63})\/([a-z0-9.-]{1,253})$/.exec(target ?? '');
  if (m === null || extra.length > 0) throw new CliUsageError('name one Service as <namespace>/<name>');
  const [, svcNs = '', svcName = ''] = m;
  const pick = picker(parsed.values, process.env);
  const [kc] = loadKubeClient(pick('kubeconfig', 'MESHLB_KUBECONFIG')?.value, process.env);
  const namespace = namespaceOf(pick('namespace', 'MESHLB_NAMESPACE'), process.env, readNamespaceFile);
  const debug = parsed.values.speaker === undefined ? undefined : await fetchDebug(parsed.values.speaker);
  const svc = await kc.find<V1Service>(objectPath('', 'v1', 'services', svcNs, svcName));
  if (svc === undefined) {
    console.error(`meshlb explain: no Service ${svcNs}/${svcName}`);
    return 1;
  }
  const lists = await clusterLists(kc, namespace, debug, slackOf(parsed.values['balance-slack'], debug));
  const ips = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip]));
  console.log(
    `service ${svcNs}/${svcName}: type ${svc.spec?.type ?? '?'}, externalTrafficPolicy ${svc.spec?.externalTrafficPolicy ?? 'Cluster'}`,
  );
  if (ips.length === 0) {
    console.log(
      '  no address in status.loadBalancer: the controller has not assigned one (kubectl describe shows its Events)',
    );
    return 0;
  }
  for (const text of ips) {
    const parsedIp = parseIp(text);
    const ip = parsedIp === undefined ? text : formatIp(parsedIp.family, parsedIp.value);
    const skipped = lists.unannounced.find((u) => u.ip === text && u.service === `${svcNs}/${svcName}`);
    if (skipped !== undefined) {
      console.log(`\n  ${text}: not announced by meshlb: ${skipped.reason}`);
      continue;
    }
    const e = explainIp(lists.world, ip);
    if (e === undefined) {
      console.log(`\n  ${text}: not in the speakers' view`);
      continue;
    }
    const d = e.decision;
    console.log(
      `\n  ${ip} (pool ${d.pool}): ${d.announcer === undefined ? 'NOT ANNOUNCED: no node may announce it' : `announced by ${d.announcer} (${d.cause}${d.claim === undefined ? '' : `, epoch ${d.claim.epoch}`})`}`,
    );
    if (d.heirs.length > 0) console.log(`  next if it fails: ${d.heirs.join(', ')}`);
    if (e.cap !== undefined) console.log(`  load bound: at most ${e.cap} addresses per node`);
    const rows = e.candidates.map((c) => [
      String(c.rank),
      c.node,
      c.node === d.announcer
        ? e.holderKeeps === true
          ? 'announcer (keeps the IP it holds while suspected)'
          : 'announcer'
        : c.eligible
          ? d.heirs.includes(c.node)
            ? 'eligible (heir)'
            : 'eligible'
          : `${c.reason ?? ''}: ${REASONS[c.reason as Reason]}`,
      c.load === undefined
        ? ''
        : `${c.load}${c.full === true ? ' (full: passed over)' : c.spread === true ? ' (has another address of this Service: passed over)' : ''}`,
    ]);
    const head = ['  RANK', 'NODE', 'WHY', ...(e.cap === undefined ? [] : ['LOAD'])];
    console.log(table([head, ...rows.map((r) => [`  ${r[0] ?? ''}`, ...r.slice(1, head.length)])]));
    if (e.overBound === true)
      console.log('  over bound: kept by its holder, no other node that may take it has room');
    if (d.cause === 'rebalance')
      console.log(
        `  rebalance: ${d.previous ?? '?'} holds more than the bound; it answers until ${d.announcer ?? '?'} claims the IP (make-before-break)`,
      );
    if (d.cause === 'kept' && e.candidates[0]?.node !== d.announcer && e.candidates[0]?.eligible === true)
      console.log(
        '  sticky: the holder keeps the IP although a better-ranked node is eligible (failback is off)',
      );
  }
  console.log(`\nmember states: ${lists.membersFrom}`);
  return 0;
}

/** --balance-slack, else the speaker's (with --speaker), else the speakers' default. */
function slackOf(flag: string | undefined, debug: SpeakerDebug | undefined): number | undefined {
  if (flag !== undefined) {
    const slack = balanceSlackOf({ value: flag, source: '--balance-slack' });
    return slack === 'off' ? undefined : slack;
  }
  if (debug?.balance === null) return undefined;
  return debug?.balance?.slack ?? BALANCE_SLACK;
}

export const explain: Command = {
  name: 'explain',
  summary: 'explain which node announces a Service’s IPs, and why not the others',
  help: HELP,
  run: runExplain,
};
