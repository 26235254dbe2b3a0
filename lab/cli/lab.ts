import { parseArgs } from 'node:util';
import { answering, steady, watchFault, type FaultWindow } from '../chaos/measure.ts';
import { kubeletLabPrerequisites } from '../testbed/kubelet/cluster.ts';
import { ClusterLab, KubeletLab, type Lab } from '../testbed/lab/index.ts';
import { NetnsUnavailableError } from '../testbed/netns/index.ts';
import type { Command } from '../../src/cli/command.ts';
import { CliUsageError } from '../../src/cli/errors.ts';
import { table } from '../../src/cli/inspect.ts';

const HELP = `usage: meshlb lab [--nodes N] [--once] [--processes]

The whole system on this machine, in a minute or two:
  - a real Kubernetes cluster: etcd, kube-apiserver, kube-controller-manager
    and kube-scheduler (built once from the Go module proxy and cached under
    ~/.cache/meshlb/), and N nodes, each a network namespace on a LAN with its
    own containerd and kubelet; a client on the same LAN;
  - meshlb's image (scripts/image) imported on every node and meshlb installed
    from deploy/ as docs/install.md says: Kubernetes schedules the speaker
    DaemonSet and the controller Deployment, the kubelets start them;
  - an IPPool and three dual-stack LoadBalancer Services; every node accepts
    the Service IPs as kube-proxy would and serves HTTP naming itself, so the
    client shows who serves;
  - one failover shown as the client sees it: the announcer's cable is pulled,
    the outage is measured (ping every 10 ms) and another node serves.
Then a live view (members, who announces each IP, events) with keys to break
things: k kill -9 · s SIGSTOP · c cut the link · n NotReady (the kubelet
stopped) · o cordon and stop · p partition · h heal everything · q quit.
Ctrl-C removes everything.

Where kubelets cannot run (no containerd, no cgroup v1 memory hierarchy, ...)
it says why and falls back to --processes.

flags:
  --nodes N     nodes on the LAN (default 5, 2-8)
  --once        show the failover, then tear down and exit (for scripts)
  --processes   the speakers and the controller as plain processes beside
                stand-in kubelets (Node status and Leases written by the lab):
                what meshlb chaos runs; starts faster

Needs root: it creates network namespaces (the machine's own network is never touched).`;

const say = (line: string): void => {
  console.log(`lab: ${line}`);
};

function describe(w: FaultWindow): string {
  const f = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${ms.toFixed(0)} ms`);
  return `outage ${f(w.pingGapMs)} (longest ping gap), TCP ${f(w.tcpGapMs)}, client's neighbour entry moved after ${f(w.neighbourMovedMs)}`;
}

interface Debug {
  members: { node: string; state: string }[];
  decisions: { ip: string; announcer: string | null; services: string[] }[];
}

async function view(lab: Lab, events: readonly string[]): Promise<string> {
  const debugs = new Map<string, Debug>();
  await Promise.all(
    lab.nodes.map(async (n) => {
      const r = await lab.http.get(lab.speakerUrl(n.name, '/debug/summary'), 500);
      if (r.status === 200) debugs.set(n.name, JSON.parse(r.body) as Debug);
    }),
  );
  const rows = [['NODE', 'SPEAKER', ...lab.nodes.map((n) => `SEEN BY ${n.name}`)]];
  for (const n of lab.nodes) {
    const exited = lab.speakerExited(n.name);
    rows.push([
      n.name,
      exited === undefined ? (debugs.has(n.name) ? 'up' : 'no answer') : `exited ${exited}`,
      ...lab.nodes.map((m) => debugs.get(m.name)?.members.find((x) => x.node === n.name)?.state ?? '-'),
    ]);
  }
  const ips = [['SERVICE', 'IP', 'ANNOUNCER (each speaker’s decision)']];
  for (const s of lab.services)
    for (const ip of s.ips) {
      const who = [...debugs.values()].map((d) => d.decisions.find((x) => x.ip === ip)?.announcer ?? '-');
      ips.push([s.name, ip, [...new Set(who)].join(' / ') || '-']);
    }
  return [
    `meshlb lab: ${lab.nodes.length} nodes, client ${lab.client.name}; logs in ${lab.dir}`,
    'keys: k kill -9 · s SIGSTOP · c cut link · n NotReady · o cordon+stop · p partition · h heal · q quit',
    '',
    table(rows),
    '',
    table(ips),
    '',
    'events:',
    ...events.slice(-10).map((e) => `  ${e}`),
  ].join('\n');
}

/** One key's action on the announcer of the first Service's IPv4 address; returns what happened. */
async function act(lab: Lab, key: string, ip: string, broken: Set<string>): Promise<string | undefined> {
  const [victim] = await answering(lab, ip);
  const at = new Date().toISOString().slice(11, 19);
  if (key === 'h') {
    await lab.heal();
    for (const n of lab.nodes.map((x) => x.name)) {
      await lab.restoreLink(n);
      await lab.setReady(n, true);
      await lab.cordon(n, false);
      await lab.signalSpeaker(n, 'SIGCONT');
      lab.reviveSpeaker(n);
    }
    broken.clear();
    return `${at} healed: links up, Nodes Ready and uncordoned, speakers running, partition removed`;
  }
  if (key === 'p') {
    const names = lab.nodes.map((n) => n.name);
    const half = Math.ceil(names.length / 2);
    await lab.partition(names.slice(0, half), names.slice(half));
    return `${at} partitioned the LAN: ${names.slice(0, half).join(',')} | ${names.slice(half).join(',')} (h heals)`;
  }
  if (victim === undefined) return `${at} nobody answers for ${ip}: press h to heal`;
  const faults: Record<string, [string, () => Promise<void>]> = {
    k: [
      `kill -9 of ${victim}'s speaker`,
      async () => {
        await lab.signalSpeaker(victim, 'SIGKILL');
      },
    ],
    s: [
      `SIGSTOP of ${victim}'s speaker`,
      async () => {
        await lab.signalSpeaker(victim, 'SIGSTOP');
      },
    ],
    c: [`${victim}'s cable pulled`, () => lab.cutLink(victim)],
    n: [
      lab.kind === 'kubelets'
        ? `${victim}'s kubelet stopped (NotReady after the grace)`
        : `${victim} marked NotReady`,
      () => lab.setReady(victim, false),
    ],
    o: [
      `${victim} cordoned (hand-off) and its speaker stopped`,
      async () => {
        await lab.cordon(victim, true);
        await new Promise((r) => setTimeout(r, 500));
        await lab.signalSpeaker(victim, 'SIGTERM');
      },
    ],
  };
  const f = faults[key];
  if (f === undefined) return undefined;
  broken.add(victim);
  // On real kubelets NotReady comes from the node lifecycle controller, after its grace (20 s here).
  const deadlineMs = key === 'n' && lab.kind === 'kubelets' ? 60_000 : 10_000;
  const w = await watchFault(lab, ip, victim, f[1], { waitForMove: true, deadlineMs });
  const [now] = await answering(lab, ip);
  return `${at} ${f[0]}: ${now ?? 'nobody'} answers ${ip}; ${describe(w)}`;
}

async function interactive(lab: Lab, ip: string): Promise<void> {
  const events: string[] = [];
  const broken = new Set<string>();
  let busy = false;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  process.once('SIGINT', () => {
    done();
  });
  const draw = async (): Promise<void> => {
    const text = await view(lab, events);
    process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
  };
  const timer = setInterval(() => {
    void draw();
  }, 1_000);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on('data', (buf: Buffer) => {
    const key = buf.toString();
    if (key === 'q' || key === '\x03') {
      done();
      return;
    }
    if (busy) return;
    busy = true;
    act(lab, key, ip, broken)
      .then((e) => {
        if (e !== undefined) events.push(e);
      })
      .catch((err: unknown) => events.push(`error: ${(err as Error).message}`))
      .finally(() => {
        busy = false;
      });
  });
  await finished;
  clearInterval(timer);
  process.stdin.setRawMode(false);
  process.stdin.pause();
}

async function runLab(args: string[]): Promise<number> {
  let values: { nodes: string; once: boolean; processes: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        nodes: { type: 'string', default: '5' },
        once: { type: 'boolean', default: false },
        processes: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 8)
    throw new CliUsageError(`--nodes must be 2-8, got ${values.nodes}`);
  if (process.getuid?.() !== 0) {
    console.error('meshlb lab needs root: it creates network namespaces (run it with sudo).');
    return 1;
  }
  let lab: Lab | undefined;
  process.prependListener('SIGINT', () => {
    say('Ctrl-C: removing the lab');
  });
  try {
    const missing = values.processes ? [] : kubeletLabPrerequisites();
    if (!values.processes && missing.length > 0) {
      console.error(
        `meshlb lab: real kubelets cannot run on this machine (missing: ${missing.join(', ')});\n` +
          '  FALLING BACK to the speakers as processes beside stand-in kubelets (what --processes runs).',
      );
    }
    lab =
      values.processes || missing.length > 0
        ? await ClusterLab.start({ nodes, onProgress: say })
        : await KubeletLab.start({ nodes, onProgress: say });
    say(
      lab.kind === 'kubelets'
        ? 'meshlb runs as users run it: its image, the DaemonSet and the Deployment, on real kubelets'
        : 'meshlb runs as processes on the nodes, beside stand-in kubelets',
    );
    const ip = lab.services[0]?.ips[0] ?? '';
    say('waiting until every speaker is ready and one node answers for each address');
    const first = await steady(lab, ip);
    if (first === undefined) {
      say(`the lab did not settle: see the logs in ${lab.dir}`);
      return 1;
    }
    const perNode = new Map(lab.nodes.map((n) => [n.name, 0]));
    for (const s of lab.services) {
      const who = await Promise.all(
        s.ips.map(async (x) => {
          const nodes = await answering(lab as Lab, x);
          for (const n of nodes) perNode.set(n, (perNode.get(n) ?? 0) + 1);
          return `${x} → ${nodes.join(',') || '?'}`;
        }),
      );
      say(`service ${s.name}: ${who.join(', ')}`);
    }
    // The load bound (docs/election.md): 6 addresses on 5 nodes, at most 2 per node.
    say(`addresses per node: ${[...perNode].map(([n, c]) => `${n} ${c}`).join(', ')}`);
    const curl = await lab.http.get(`http://${ip}/`);
    say(`curl http://${ip}/ from the client: served by ${curl.body.trim() || '(no answer)'}`);
    say(`failover: ${first}'s cable is pulled while the client pings ${ip} every 10 ms`);
    const w = await watchFault(lab, ip, first, () => (lab as Lab).cutLink(first), {
      waitForMove: true,
    });
    const [second] = await answering(lab, ip);
    const after = await lab.http.get(`http://${ip}/`);
    say(`  ${second ?? 'nobody'} answers now; ${describe(w)}`);
    say(`  curl http://${ip}/ from the client: served by ${after.body.trim() || '(no answer)'}`);
    await lab.restoreLink(first);
    if (!w.recovered || second === undefined || second === first) {
      say(`the failover did not go as it should (logs: ${lab.dir})`);
      return 1;
    }
    if (values.once) return 0;
    console.log(`\n  kubectl --kubeconfig ${lab.cp.kubeconfigPath} get svc,serviceannouncements -n lab`);
    console.log(`  ip netns exec ${lab.client.ns} curl http://${ip}/\n`);
    if (process.stdin.isTTY) await interactive(lab, ip);
    else {
      say('the lab is up; Ctrl-C removes everything');
      const keepAlive = setInterval(() => undefined, 60_000);
      await new Promise<void>((resolve) =>
        process.once('SIGINT', () => {
          resolve();
        }),
      );
      clearInterval(keepAlive);
    }
    return 0;
  } catch (err) {
    if (err instanceof NetnsUnavailableError) {
      console.error(`meshlb lab: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await lab?.stop();
  }
}

export const lab: Command = {
  name: 'lab',
  summary: 'run the local lab: control plane, controller and speakers on a namespace LAN (root)',
  help: HELP,
  run: runLab,
};
