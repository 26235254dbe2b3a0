import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../testbed/controlplane/index.ts';
import { createLan, requireNetns, type Host, type Lan } from '../testbed/netns/index.ts';
import type { Command } from './commands.ts';
import { showFailover, type FailoverResult } from './lab-failover.ts';
import { CliUsageError } from './errors.ts';

const HELP = `usage: meshlb lab [--hosts N] [--once]

Builds the local lab on this machine and shows it working:
  - a real control plane: etcd + kube-apiserver on 127.0.0.1 (TLS, RBAC), built
    once from the Go module proxy and cached under ~/.cache/meshlb/;
  - a LAN of network namespaces: a bridge, N hosts and a client, IPv4 and IPv6;
  - the hosts registered as Kubernetes Nodes, and a LoadBalancer Service
    with an IPv4 and an IPv6 address from the lab's range;
  - a real ARP and NDP exchange between the client and every host;
  - meshlb's responder (src/arp) on the hosts: the election's ranking picks
    the Service IP's announcer, the client resolves and pings it, then the
    announcer's cable is pulled and the next host takes over: the client's
    neighbour entry moves and the ping gap is measured.
It then stays up (kubectl commands are printed) until Ctrl-C, which removes
everything. The mesh, the speaker and chaos join the lab as they are built.

flags:
  --hosts N   hosts on the LAN (default 3, 1-20)
  --once      show the exchange, then tear down and exit (for scripts)

Needs root (it creates network namespaces; the machine's own network is never touched).`;

const say = (line: string): void => {
  console.log(`lab: ${line}`);
};

async function registerNodes(cp: ControlPlane, lan: Lan, vips: readonly string[]): Promise<void> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  for (const h of lan.hosts) {
    await core.createNode({
      body: { metadata: { name: h.name, labels: { 'kubernetes.io/hostname': h.name } } },
    });
    // No kubelets run in the lab (yet): report each Node Ready as one would.
    const now = new Date();
    await core.replaceNodeStatus({
      name: h.name,
      body: {
        metadata: { name: h.name },
        status: {
          addresses: [
            { type: 'InternalIP', address: h.ipv4 },
            { type: 'InternalIP', address: h.ipv6 },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'MeshlbLab',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
    });
  }
  await cp.kubectl(['create', 'namespace', 'lab']);
  await core.createNamespacedService({
    namespace: 'lab',
    body: {
      metadata: { name: 'web' },
      spec: {
        type: 'LoadBalancer',
        ipFamilyPolicy: 'PreferDualStack',
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      },
    },
  });
  // The controller's job (IPs from a pool), done by the lab until the controller exists.
  const svc = await core.readNamespacedService({ namespace: 'lab', name: 'web' });
  svc.status = { loadBalancer: { ingress: vips.map((ip) => ({ ip, ipMode: 'VIP' })) } };
  await core.replaceNamespacedServiceStatus({ namespace: 'lab', name: 'web', body: svc });
}

function describeFailover(f: FailoverResult): string[] {
  return [
    `${f.vip4} and ${f.vip6}: the ranking picks ${f.first.name}, then ${f.second.name}`,
    `  before: ARP reply from ${f.arpBefore ?? 'nobody'}, NDP reply from ${f.ndpBefore ?? 'nobody'} (${f.first.name} is ${f.first.mac})`,
    `  ${f.first.name}'s cable pulled; ${f.second.name} (${f.second.mac}) announces`,
    `  after: the client's neighbour entry is ${f.neighbourAfter ?? 'missing'}, ` +
      `${f.moveMs.toFixed(2)} ms after the decision; longest ping gap ${f.pingGapMs.toFixed(1)} ms (ping every 10 ms)`,
  ];
}

interface Row {
  host: Host;
  arp: string;
  ndp: string;
}

async function neighbourExchange(lan: Lan): Promise<Row[]> {
  const client = lan.client as Host;
  return Promise.all(
    lan.hosts.map(async (host) => {
      const arp = await lan.exec(client, ['arping', '-c', '1', '-w', '2', '-I', 'eth0', host.ipv4]);
      const ndp = await lan.exec(client, ['ndisc6', '-r', '3', '-w', '500', host.ipv6, 'eth0']);
      return {
        host,
        arp: /\[([0-9a-f:]{17})\]/i.exec(arp.stdout)?.[1]?.toLowerCase() ?? 'no reply',
        ndp: /link-layer address\s*:\s*([0-9a-f:]{17})/i.exec(ndp.stdout)?.[1]?.toLowerCase() ?? 'no reply',
      };
    }),
  );
}

function table(rows: Row[]): string {
  const lines = [['host', 'namespace', 'IPv4', 'ARP reply from', 'IPv6', 'NDP reply from', 'MAC']];
  for (const r of rows)
    lines.push([r.host.name, r.host.ns, r.host.ipv4, r.arp, r.host.ipv6, r.ndp, r.host.mac]);
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  return lines.map((l) => `  ${l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`).join('\n');
}

async function runLab(args: string[]): Promise<number> {
  let values: { hosts: string; once: boolean };
  try {
    values = parseArgs({
      args,
      options: { hosts: { type: 'string', default: '3' }, once: { type: 'boolean', default: false } },
    }).values;
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const hosts = Number(values.hosts);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 20)
    throw new CliUsageError(`--hosts must be 1-20, got ${values.hosts}`);
  requireNetns();

  let cp: ControlPlane | undefined;
  let lan: Lan | undefined;
  let failover: FailoverResult | undefined;
  const interrupted = new Promise<void>((resolve) => process.once('SIGINT', resolve));
  process.prependListener('SIGINT', () => {
    say('Ctrl-C: removing the lab');
  });
  try {
    say('starting the control plane (the first run builds it: about 4 minutes)');
    cp = await startControlPlane({ onProgress: say });
    say(`building a LAN: ${hosts} hosts and a client in network namespaces`);
    lan = await createLan({ hosts, prefix: 'mlblab' });
    const vip4 = '198.51.100.10';
    const vip6 = `${lan.vipRange6.split('::')[0] ?? ''}::10`;
    await registerNodes(cp, lan, [vip4, vip6]);
    say('ARP and NDP from the client to every host:');
    const rows = await neighbourExchange(lan);
    console.log(table(rows));
    const ok = rows.every((r) => r.arp === r.host.mac && r.ndp === r.host.mac);
    console.log((await cp.kubectl(['get', 'nodes,services', '-A', '-o', 'wide'])).stdout);
    if (!ok) {
      say('some host did not answer with its own MAC: see the table above');
      return 1;
    }
    if (hosts < 2) {
      say('failover needs 2 hosts or more (--hosts)');
    } else {
      say('failover of the Service IP, as the client sees it:');
      failover = await showFailover(lan, vip4, vip6);
      for (const line of describeFailover(failover)) say(line);
      if (failover.arpBefore !== failover.first.mac || failover.neighbourAfter !== failover.second.mac) {
        say('the failover did not go as it should: see above');
        return 1;
      }
    }
    if (values.once) return 0;
    say('the lab is up. Try:');
    console.log(`  ${cp.binDir}/kubectl --kubeconfig ${cp.kubeconfigPath} get nodes`);
    console.log(`  ip netns exec ${lan.client?.ns ?? ''} arping -c 3 -I eth0 ${vip4}`);
    say('Ctrl-C removes everything');
    // Nothing else holds the event loop (the control plane's processes are unref'd).
    const keepAlive = setInterval(() => undefined, 60_000);
    await interrupted;
    clearInterval(keepAlive);
    return 0;
  } finally {
    await failover?.stop();
    await lan?.teardown();
    await cp?.stop();
  }
}

export const lab: Command = {
  name: 'lab',
  summary: 'run the local lab: a real control plane and a namespace LAN (root)',
  help: HELP,
  run: runLab,
};
