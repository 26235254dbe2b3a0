import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

/**
 * The IPs this node's kernel answers ARP for by itself on the interfaces the
 * speaker answers on: IPv4 service IPs that are also an address of a local
 * interface (kube-proxy's IPVS mode binds every LoadBalancer IP to
 * kube-ipvs0; someone may have added one by hand), on an interface whose
 * effective arp_ignore is 0 (the kernel default: answer for any local
 * address, whatever interface holds it). Then every such node answers with
 * its own MAC, whoever meshlb elected: MetalLB's docs require kube-proxy's
 * `strictARP: true` (arp_ignore=1, arp_announce=2) for this reason. IPv6 is
 * not affected: Linux answers a neighbour solicitation only for an address
 * on the interface it came in on. Pure but for `arpIgnore`.
 */
export function kernelAnswers(
  serviceIps: readonly string[],
  localAddresses: ReadonlySet<string>,
  interfaces: readonly string[],
  arpIgnore: (ifname: string) => number | undefined,
): { ips: string[]; interfaces: string[] } {
  const ips = serviceIps.filter((ip) => isIPv4(ip) && localAddresses.has(ip)).sort();
  if (ips.length === 0) return { ips: [], interfaces: [] };
  // The effective value is the larger of `all` and the interface's own.
  const all = arpIgnore('all') ?? 0;
  const answering = interfaces.filter((i) => Math.max(all, arpIgnore(i) ?? 0) === 0).sort();
  return answering.length === 0 ? { ips: [], interfaces: [] } : { ips, interfaces: answering };
}

/** /proc/sys/net/ipv4/conf/<ifname>/arp_ignore; undefined when it cannot be read. */
export function readArpIgnore(ifname: string): number | undefined {
  try {
    const v = Number(readFileSync(`/proc/sys/net/ipv4/conf/${ifname}/arp_ignore`, 'utf8').trim());
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The condition a speaker sets on its own Pod while its node's kernel answers for service IPs. */
export const KERNEL_ANSWERS_CONDITION = 'meshlb.io/KernelAnswersServiceIPs';
