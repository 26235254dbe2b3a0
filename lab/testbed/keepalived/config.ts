/**
 * keepalived's configuration for the comparison: one VRRPv3 instance on eth0 with
 * the Service IP as its virtual_ipaddress, every host starting in BACKUP with
 * `nopreempt` (a host whose cable comes back stays BACKUP, so each trial moves
 * the IP once). keepalived adds the IP to eth0 of the MASTER and sends the
 * gratuitous ARPs itself.
 */

/**
 * Advertisement intervals compared: keepalived's default (1 s), 100 ms, and the
 * tuned 30 and 10 ms (VRRPv3 counts centiseconds: 10 ms is its floor).
 */
export type AdvertIntervalMs = 1000 | 100 | 30 | 10;

export const ADVERT_INTERVALS: readonly AdvertIntervalMs[] = [1000, 100, 30, 10];

/**
 * 100 (keepalived's default) for the first host, then 10 lower each (at most 10
 * hosts; more share the range evenly): 100, 90, 80, … A backup's Skew_Time is
 * (256 − priority) / 256 × advert interval, so its Master_Down_Interval (3 ×
 * interval + Skew_Time) is 3.61 intervals at priority 100 and 3.65 at 90. With
 * adjacent priorities (100, 99, …) two backups' timers differ by 0.4 ms at 100 ms
 * adverts, less than a scheduling hiccup on a busy machine, and both take over.
 */
export function defaultPriorities(count: number): number[] {
  const step = count <= 10 ? 10 : Math.max(1, Math.floor(99 / (count - 1)));
  return Array.from({ length: count }, (_, i) => Math.max(1, 100 - step * i));
}

/** The VRRP router id of the instance (one VRRP instance per LAN, so any 1…255 will do). */
export const DEFAULT_VIRTUAL_ROUTER_ID = 51;

export interface InstanceConfig {
  /** keepalived's router_id (the host's name). */
  routerId: string;
  /** The IPv4 address the VRRP instance holds (a /32 on eth0). */
  vip: string;
  advertIntervalMs: AdvertIntervalMs;
  /** 1…254 (255 is reserved for the address owner). */
  priority: number;
  virtualRouterId: number;
  /**
   * Unicast adverts: this host's IPv4 address and its peers'. Without it the
   * adverts go to 224.0.0.18 (VRRP's multicast group), which the LAN's bridge
   * floods (its multicast snooping is off).
   */
  unicast?: { src: string; peers: readonly string[] };
}

/** keepalived.conf text for one host. */
export function keepalivedConfig(c: InstanceConfig): string {
  if (!(Number.isInteger(c.priority) && c.priority >= 1 && c.priority <= 254))
    throw new RangeError(`priority must be an integer 1…254, got ${c.priority}`);
  if (!(Number.isInteger(c.virtualRouterId) && c.virtualRouterId >= 1 && c.virtualRouterId <= 255))
    throw new RangeError(`virtual router id must be an integer 1…255, got ${c.virtualRouterId}`);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(c.vip))
    throw new RangeError(`vip must be an IPv4 address, got ${c.vip}`);
  const unicast =
    c.unicast === undefined
      ? []
      : [
          `  unicast_src_ip ${c.unicast.src}`,
          '  unicast_peer {',
          ...c.unicast.peers.map((p) => `    ${p}`),
          '  }',
        ];
  return [
    'global_defs {',
    `  router_id ${c.routerId}`,
    '}',
    'vrrp_instance VI_1 {',
    '  version 3',
    '  state BACKUP',
    '  nopreempt',
    '  interface eth0',
    `  virtual_router_id ${c.virtualRouterId}`,
    `  priority ${c.priority}`,
    `  advert_int ${c.advertIntervalMs / 1000}`,
    ...unicast,
    '  virtual_ipaddress {',
    `    ${c.vip}/32 dev eth0`,
    '  }',
    '}',
    '',
  ].join('\n');
}
