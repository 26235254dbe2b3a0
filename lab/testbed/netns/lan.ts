import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { onExit } from '../cleanup.ts';
import { run, type ExecResult } from '../exec.ts';
import { deleteNamespaceSync, nft, requireNetns, sh } from './ip.ts';
import { sweepStale } from './sweep.ts';

/** One machine on the LAN: its own network namespace with eth0 on the bridge. */
export interface Host {
  /** h1…hN, or cl for the client. */
  readonly name: string;
  /** The network namespace (`ip netns exec <ns> …`). */
  readonly ns: string;
  readonly ifname: 'eth0';
  readonly mac: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** Its port on the bridge, in the switch namespace. */
  readonly port: string;
}

export interface LanOptions {
  /** Hosts besides the client (default 3, at most 200). */
  hosts?: number;
  /** Add a client host `cl` (default true). */
  client?: boolean;
  /** Namespace name prefix (default `mlb`); stale namespaces of this prefix are swept first. */
  prefix?: string;
}

/** Service addresses for tests: on-link for every host, assigned to none. */
export const VIP_RANGE_4 = '198.51.100.0/24';

let lanSeq = 0;

/**
 * A LAN of network namespaces: a switch namespace holding bridge `br0`, and
 * hosts whose `eth0` is a veth to a bridge port. Addresses: 192.0.2.(10+i)/24
 * and fd6d:6c62:<seq>::(10+i)/64 for host i, .250 / ::250 for the client,
 * without duplicate address detection so they work at once. Service IPs come
 * from VIP_RANGE_4 and `vipRange6`, routed on-link on every host.
 */
export class Lan {
  readonly id: string;
  readonly switchNs: string;
  readonly hosts: readonly Host[];
  readonly client: Host | undefined;
  readonly vipRange4 = VIP_RANGE_4;
  readonly vipRange6: string;
  #down = false;
  readonly #unregister: () => void;

  constructor(id: string, switchNs: string, hosts: Host[], client: Host | undefined, vipRange6: string) {
    this.id = id;
    this.switchNs = switchNs;
    this.hosts = hosts;
    this.client = client;
    this.vipRange6 = vipRange6;
    this.#unregister = onExit(() => {
      this.#teardownSync();
    });
  }

  /** Every host, the client last. */
  get all(): Host[] {
    return this.client === undefined ? [...this.hosts] : [...this.hosts, this.client];
  }

  host(name: string): Host {
    const h = this.all.find((x) => x.name === name);
    if (h === undefined) throw new RangeError(`no host ${name} on LAN ${this.id}`);
    return h;
  }

  /** The host whose eth0 has this MAC (any case), if any. */
  hostOfMac(mac: string): Host | undefined {
    const m = mac.toLowerCase();
    return this.all.find((h) => h.mac === m);
  }

  /** Runs argv inside a host; resolves with its exit code and output (never throws on a non-zero exit). */
  exec(host: Host, argv: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return run(['ip', 'netns', 'exec', host.ns, ...argv], opts);
  }

  /**
   * Accepts `ip` on `host` as kube-proxy (IPVS) would: on `lo`, with arp_ignore=1 and
   * arp_announce=2 so the kernel never answers ARP for it (the responder does).
   */
  async acceptVip(host: Host, ip: string): Promise<void> {
    await this.exec(host, [
      'sysctl',
      '-qw',
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
    ]);
    await this.exec(host, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
  }

  /** Starts a long-running process inside a host. */
  spawn(host: Host, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', host.ns, ...argv], opts);
  }

  /**
   * Cable pulled: the bridge port goes down, so the host's eth0 loses carrier
   * too (veth peers share link state) and the kernel sees it (NO-CARRIER).
   * For a silent black hole with the link up, use dropFraction(host, 1).
   */
  async linkDown(host: Host): Promise<void> {
    await sh(['ip', '-n', this.switchNs, 'link', 'set', host.port, 'down']);
  }

  async linkUp(host: Host): Promise<void> {
    await sh(['ip', '-n', this.switchNs, 'link', 'set', host.port, 'up']);
  }

  /**
   * The host's port down and up again from one `ip -batch` (well under a
   * millisecond apart, against 10–30 ms for linkDown then linkUp from here):
   * a flap shorter than any failover, the pulse's (~27 ms) included.
   */
  async flapLink(host: Host): Promise<void> {
    await sh(
      ['ip', '-n', this.switchNs, '-batch', '-'],
      `link set ${host.port} down\nlink set ${host.port} up\n`,
    );
  }

  /**
   * Drops this fraction (0…1) of the frames entering and leaving the host's
   * bridge port, independently at random (nftables `numgen random` on the
   * bridge: this kernel has no netem). 0 removes the loss; 1 drops everything.
   */
  async dropFraction(host: Host, fraction: number): Promise<void> {
    if (!(fraction >= 0 && fraction <= 1))
      throw new RangeError(`fraction must be within 0…1, got ${fraction}`);
    const chain = `loss_${host.port}`;
    const threshold = Math.round(fraction * 10_000);
    const match = threshold >= 10_000 ? '' : `numgen random mod 10000 < ${threshold} `;
    const rule = threshold === 0 ? '' : `add rule bridge meshlb ${chain} ${match}drop\n`;
    await nft(this.switchNs, `flush chain bridge meshlb ${chain}\n${rule}`);
  }

  /** Drops all traffic between the two groups (each keeps talking to itself and to hosts in neither). */
  async partition(a: readonly Host[], b: readonly Host[]): Promise<void> {
    const set = (hs: readonly Host[]): string => `{ ${hs.map((h) => `"${h.port}"`).join(', ')} }`;
    await nft(
      this.switchNs,
      `flush chain bridge meshlb partition\n` +
        `add rule bridge meshlb partition iifname ${set(a)} oifname ${set(b)} drop\n` +
        `add rule bridge meshlb partition iifname ${set(b)} oifname ${set(a)} drop\n`,
    );
  }

  async heal(): Promise<void> {
    await nft(this.switchNs, 'flush chain bridge meshlb partition\n');
  }

  /** Kills everything running inside the LAN's namespaces and deletes them; idempotent. */
  teardown(): Promise<void> {
    this.#teardownSync();
    return Promise.resolve();
  }

  #teardownSync(): void {
    if (this.#down) return;
    this.#down = true;
    this.#unregister();
    for (const h of this.all) deleteNamespaceSync(h.ns);
    deleteNamespaceSync(this.switchNs);
  }
}

function nftBase(ports: readonly string[]): string {
  const lines = [
    'table bridge meshlb {',
    '  chain partition { }',
    ...ports.map((p) => `  chain loss_${p} { }`),
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    '    jump partition',
    ...ports.flatMap((p) => [`    iifname "${p}" jump loss_${p}`, `    oifname "${p}" jump loss_${p}`]),
    '  }',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

async function addHost(
  id: string,
  sw: string,
  name: string,
  index: number,
  port: string,
  seq: string,
  vip6: string,
): Promise<Host> {
  const ns = `${id}-${name}`;
  await sh(['ip', 'netns', 'add', ns]);
  // Before eth0 exists, so it inherits it: addresses usable at once, no 1 s DAD wait.
  await sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
  await sh(['ip', '-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await sh(['ip', '-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
  const ipv4 = `192.0.2.${index}`;
  const ipv6 = `fd6d:6c62:${seq}::${index}`;
  const batch = [
    'link set lo up',
    'link set eth0 up',
    `addr add ${ipv4}/24 dev eth0`,
    `addr add ${ipv6}/64 dev eth0 nodad`,
    `route add ${VIP_RANGE_4} dev eth0`,
    `route add ${vip6} dev eth0`,
  ].join('\n');
  await sh(['ip', '-n', ns, '-batch', '-'], `${batch}\n`);
  const link = JSON.parse(await sh(['ip', '-n', ns, '-j', 'link', 'show', 'eth0'])) as { address: string }[];
  const mac = link[0]?.address ?? '';
  return { name, ns, ifname: 'eth0', mac, ipv4, ipv6, port };
}

/** Builds a LAN (see Lan). Needs root. Sweeps namespaces left by dead processes of the same prefix first. */
export async function createLan(opts: LanOptions = {}): Promise<Lan> {
  requireNetns();
  const prefix = opts.prefix ?? 'mlb';
  const count = opts.hosts ?? 3;
  if (!(Number.isInteger(count) && count >= 1 && count <= 200))
    throw new RangeError(`hosts must be 1…200, got ${count}`);
  sweepStale(prefix);
  const n = ++lanSeq;
  const id = `${prefix}-${process.pid}-${n}`;
  const seq = ((process.pid * 31 + n) % 0xffff).toString(16);
  const vip6 = `fd6d:6c62:${seq}:1::/112`;
  const sw = `${id}-sw`;
  const made: string[] = [sw];
  try {
    await sh(['ip', 'netns', 'add', sw]);
    await sh(
      ['ip', '-n', sw, '-batch', '-'],
      'link set lo up\nlink add br0 type bridge mcast_snooping 0 stp_state 0\nlink set br0 up\n',
    );
    const specs = Array.from({ length: count }, (_, i) => ({
      name: `h${i + 1}`,
      index: 11 + i,
      port: `p${i + 1}`,
    }));
    if (opts.client ?? true) specs.push({ name: 'cl', index: 250, port: 'pcl' });
    made.push(...specs.map((s) => `${id}-${s.name}`));
    const hosts = await Promise.all(specs.map((s) => addHost(id, sw, s.name, s.index, s.port, seq, vip6)));
    await nft(sw, nftBase(hosts.map((h) => h.port)));
    const client = (opts.client ?? true) ? hosts.pop() : undefined;
    return new Lan(id, sw, hosts, client, vip6);
  } catch (err) {
    for (const ns of made) deleteNamespaceSync(ns);
    throw err;
  }
}
