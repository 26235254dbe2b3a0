/**
 * The labs' LoadBalancer Services (both labs: ClusterLab, KubeletLab and the
 * KubeletCluster tests), and kube-proxy's part for them where no kube-proxy
 * runs: every node accepts each Service IP on `lo` with arp_ignore=1 /
 * arp_announce=2 (as kube-proxy's IPVS mode binds them, without the kernel
 * answering ARP for them), so a client's ping is answered by whichever node
 * meshlb sends it to. A KubeletCluster with a real kube-proxy
 * (kubelet/backends.ts) passes a selector and `acceptVips: false` instead.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { createIpPool, createL2Advertisement, type ControlPlane } from '../controlplane/index.ts';
import type { Lan } from '../netns/index.ts';
import { poll } from '../poll.ts';
import type { LabService } from './lab.ts';

/** The namespace of the labs' Services. */
export const LAB_NAMESPACE = 'lab';

/** The names of the labs' first `n` Services: web, api, db, cache, mq, then svc5, svc6, … */
export const serviceNames = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => ['web', 'api', 'db', 'cache', 'mq'][i] ?? `svc${i}`);

/** A control plane with a LAN of nodes: what these functions need of a lab. */
export interface LabNetwork {
  readonly cp: ControlPlane;
  readonly lan: Lan;
}

/** An IPPool and an L2Advertisement for every node, from the LAN's service ranges. */
export async function createPool(c: LabNetwork): Promise<void> {
  const prefix6 = c.lan.vipRange6.split('::')[0] ?? '';
  await createIpPool(c.cp, 'lab', { addresses: ['198.51.100.16/28', `${prefix6}::100/124`] });
  await createL2Advertisement(c.cp, 'lab', { ipPools: ['lab'], cordonPolicy: 'HandOff' });
}

/** How the labs' Services differ from the default (no selector, port 80, the Cluster policy, VIPs on lo). */
export interface ServiceOptions {
  /** Pods that back the Services (with a real kube-proxy); none by default. */
  selector?: Record<string, string>;
  /** The backends' port; default 80. */
  targetPort?: number;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /**
   * Accept the addresses on every node's `lo` (acceptVip), standing in for
   * kube-proxy; default true. False where a real kube-proxy runs.
   */
  acceptVips?: boolean;
  /** Addresses per family (`meshlb.io/address-count`); default 1. */
  addressCount?: number;
}

/** Creates the labs' namespace unless it exists. */
export async function createLabNamespace(cp: ControlPlane): Promise<void> {
  await cp.kubeConfig
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: LAB_NAMESPACE } } })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
}

/** Creates dual-stack LoadBalancer Services and waits for the controller to give each both addresses. */
export async function createServices(
  c: LabNetwork,
  names: readonly string[],
  timeoutMs = 60_000,
  opts: ServiceOptions = {},
): Promise<LabService[]> {
  const core = c.cp.kubeConfig.makeApiClient(CoreV1Api);
  await createLabNamespace(c.cp);
  for (const name of names) {
    await core.createNamespacedService({
      namespace: LAB_NAMESPACE,
      body: {
        metadata: {
          name,
          ...(opts.addressCount === undefined
            ? {}
            : { annotations: { 'meshlb.io/address-count': String(opts.addressCount) } }),
        },
        spec: {
          type: 'LoadBalancer',
          ipFamilyPolicy: 'PreferDualStack',
          ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: opts.targetPort ?? 80 }],
          ...(opts.selector === undefined ? {} : { selector: opts.selector }),
          ...(opts.externalTrafficPolicy === undefined
            ? {}
            : { externalTrafficPolicy: opts.externalTrafficPolicy }),
        },
      },
    });
  }
  const services = await poll(
    async () => {
      const out: LabService[] = [];
      for (const name of names) {
        const svc = await core.readNamespacedService({ namespace: LAB_NAMESPACE, name });
        const ips = (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
          i.ip === undefined ? [] : [i.ip],
        );
        if (ips.length === 2 * (opts.addressCount ?? 1)) out.push({ name, ips });
      }
      return out.length === names.length ? out : undefined;
    },
    timeoutMs,
    200,
  );
  if (services === undefined)
    throw new Error(`the controller gave ${names.join(', ')} no dual-stack addresses in ${timeoutMs} ms`);
  if (opts.acceptVips !== false) for (const s of services) for (const ip of s.ips) await acceptVip(c, ip);
  return services;
}

/** kube-proxy's part on every node: the VIP on lo, never answered by the kernel's ARP or NDP. */
export async function acceptVip(c: LabNetwork, ip: string): Promise<void> {
  for (const host of c.lan.hosts) {
    if (ip.includes(':')) await c.lan.exec(host, ['ip', 'addr', 'add', `${ip}/128`, 'dev', 'lo']);
    else await c.lan.acceptVip(host, ip);
  }
}
