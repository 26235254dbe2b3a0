import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/**
 * Interfaces `interfaces: auto` leaves out: loopback and the virtual devices
 * of container runtimes, CNIs, tunnels and kube-proxy (answering ARP there
 * would reach no client, or the wrong one). Physical NICs, bonds, VLANs and
 * bridges the node's address lives on stay.
 */
export const AUTO_EXCLUDE =
  /^(lo|docker\d*|cni\d*|cbr\d*|flannel\..*|cali.*|cilium_.*|lxc.*|vxlan.*|kube-ipvs\d*|kube-bridge|veth.*|tunl\d*|tun\d*|tap\d*|wg\d*|nodelocaldns|genev_sys_.*|virbr\d*|br-[0-9a-f]{12}|weave|datapath|antrea-.*|ovs-system|nerdctl\d*|podman\d*)$/;

/**
 * The interfaces to answer on with `interfaces: auto`: those with a
 * non-internal address, minus AUTO_EXCLUDE, in name order.
 */
export function autoInterfaces(all: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  return Object.entries(all)
    .filter(([name, addrs]) => !AUTO_EXCLUDE.test(name) && (addrs ?? []).some((a) => !a.internal))
    .map(([name]) => name)
    .sort();
}
