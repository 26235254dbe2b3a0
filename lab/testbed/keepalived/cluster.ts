import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { onExit } from '../cleanup.ts';
import { run } from '../exec.ts';
import { systemTool } from '../netns/ip.ts';
import type { Host, Lan } from '../netns/index.ts';
import {
  DEFAULT_VIRTUAL_ROUTER_ID,
  defaultPriorities,
  keepalivedConfig,
  type AdvertIntervalMs,
} from './config.ts';
import { KeepalivedExitedError, KeepalivedTimeoutError } from './errors.ts';
import { until } from './wait.ts';

/** A VRRP instance's state, as its keepalived logged it (INIT until the first line). */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** One logged state change; `t` is wall-clock ms when this process read the line. */
export interface StateChange {
  t: number;
  host: Host;
  state: VrrpState;
}

export interface KeepalivedOptions {
  /** IPv4 Service address held by the MASTER (take it from `lan.vipRange4`). */
  vip: string;
  advertIntervalMs: AdvertIntervalMs;
  /** One per host, 1…254 (default 100, 90, 80, …: see defaultPriorities). */
  priorities?: readonly number[];
  /** Default 51. */
  virtualRouterId?: number;
  /** Adverts to each peer's address instead of VRRP's multicast group (default false). */
  unicast?: boolean;
  /** How long startKeepalived waits for one MASTER holding the VIP (default 10 s + 5 advert intervals). */
  startTimeoutMs?: number;
}

// Wed Nov 25 12:46:42 2026: (VI_1) Entering MASTER STATE
const STATE_LINE = /\(VI_1\) Entering (BACKUP|MASTER|FAULT) STATE/;
const LOG_LINES = 200;

/** Keeps a line of `inst`'s log and records the state change it may announce. */
function observe(inst: Instance, line: string, changes: StateChange[]): void {
  inst.log.push(line);
  if (inst.log.length > LOG_LINES) inst.log.shift();
  const m = STATE_LINE.exec(line);
  if (m === null) return;
  inst.state = m[1] as VrrpState;
  changes.push({ t: Date.now(), host: inst.host, state: inst.state });
}

interface Instance {
  host: Host;
  proc: ChildProcess;
  state: VrrpState;
  log: string[];
  /** Exit code or signal once it exited. */
  exit: string | undefined;
  exited: Promise<void>;
}

/**
 * keepalived running on some hosts of a LAN, one process (group) per host inside
 * its namespace, with its configuration, pid files and log in a temp dir.
 * Made by startKeepalived.
 */
export class KeepalivedCluster {
  readonly lan: Lan;
  readonly hosts: readonly Host[];
  readonly vip: string;
  readonly advertIntervalMs: AdvertIntervalMs;
  /** Configuration files and pid files. */
  readonly dir: string;
  /** Every state change logged since the start (the caller may empty it). */
  readonly changes: StateChange[];
  readonly #instances: Instance[];
  #stopped = false;
  readonly #unregister: () => void;

  constructor(
    lan: Lan,
    vip: string,
    advertIntervalMs: AdvertIntervalMs,
    dir: string,
    instances: Instance[],
    changes: StateChange[],
  ) {
    this.lan = lan;
    this.changes = changes;
    this.vip = vip;
    this.advertIntervalMs = advertIntervalMs;
    this.dir = dir;
    this.#instances = instances;
    this.hosts = instances.map((i) => i.host);
    this.#unregister = onExit(() => {
      this.#killSync('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
  }

  #instance(host: Host): Instance {
    const inst = this.#instances.find((i) => i.host === host || i.host.name === host.name);
    if (inst === undefined) throw new RangeError(`keepalived does not run on ${host.name}`);
    return inst;
  }

  /** The state `host`'s keepalived last logged (STOP once it exited). */
  state(host: Host): VrrpState {
    const inst = this.#instance(host);
    return inst.exit === undefined ? inst.state : 'STOP';
  }

  /** The last lines `host`'s keepalived logged. */
  log(host: Host): string {
    return this.#instance(host).log.join('\n');
  }

  /** The hosts that have the VIP on eth0 now (`ip -j addr`): the MASTER, or more than one in a split brain. */
  async holders(): Promise<Host[]> {
    const has = await Promise.all(
      this.hosts.map(async (h) => {
        const r = await run(['ip', '-j', '-n', h.ns, 'addr', 'show', 'dev', h.ifname], { timeoutMs: 5_000 });
        if (r.code !== 0) return false;
        const links = JSON.parse(r.stdout) as { addr_info?: { local?: string }[] }[];
        return links.some((l) => l.addr_info?.some((a) => a.local === this.vip) === true);
      }),
    );
    return this.hosts.filter((_, i) => has[i] === true);
  }

  /** The host in MASTER state that alone holds the VIP, or undefined (none yet, or several). */
  async master(): Promise<Host | undefined> {
    const masters = this.hosts.filter((h) => this.state(h) === 'MASTER');
    if (masters.length !== 1) return undefined;
    const holders = await this.holders();
    return holders.length === 1 && holders[0] === masters[0] ? masters[0] : undefined;
  }

  /**
   * Waits until the cluster is steady: one MASTER alone holding the VIP and
   * every other host BACKUP. Resolves with the MASTER; throws
   * KeepalivedExitedError when an instance exited and KeepalivedTimeoutError
   * after `timeoutMs` (default 5 s + 5 advert intervals).
   */
  steady(timeoutMs = 5_000 + 5 * this.advertIntervalMs): Promise<Host> {
    return until(
      'one keepalived MASTER holding the VIP, the others BACKUP',
      async () => {
        this.#throwIfExited();
        const states = this.hosts.map((h) => this.state(h));
        if (states.filter((s) => s === 'MASTER').length !== 1) return undefined;
        if (!states.every((s) => s === 'MASTER' || s === 'BACKUP')) return undefined;
        return this.master();
      },
      timeoutMs,
      20,
    ).catch((err: unknown) => {
      if (!(err instanceof KeepalivedTimeoutError)) throw err;
      const states = this.hosts.map((h) => `${h.name} ${this.state(h)}`).join(', ');
      throw new KeepalivedTimeoutError(`${err.message} (states: ${states})`);
    });
  }

  #throwIfExited(): void {
    if (this.#stopped) throw new KeepalivedExitedError('keepalived was stopped');
    const dead = this.#instances.find((i) => i.exit !== undefined);
    if (dead !== undefined) {
      throw new KeepalivedExitedError(
        `keepalived on ${dead.host.name} exited (${dead.exit ?? ''}):\n${dead.log.slice(-20).join('\n')}`,
      );
    }
  }

  #killSync(signal: NodeJS.Signals): void {
    for (const inst of this.#instances) {
      if (inst.exit !== undefined || inst.proc.pid === undefined) continue;
      try {
        process.kill(-inst.proc.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Stops every keepalived (SIGTERM: the MASTER removes the VIP and sends a
   * priority-0 advert), SIGKILL after 5 s, and removes the temp dir. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#killSync('SIGTERM');
    const all = Promise.all(this.#instances.map((i) => i.exited));
    const timer = new AbortController();
    const late = await Promise.race([
      all.then(() => false),
      delay(5_000, true, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (late) {
      this.#killSync('SIGKILL');
      await all;
    }
    this.#unregister();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs keepalived (VRRPv3, one instance on eth0 holding `opts.vip`) on each of
 * `hosts`, inside its namespace, and resolves once one MASTER holds the VIP
 * and the others are BACKUP. All start in BACKUP with nopreempt, so the
 * highest priority becomes MASTER after one Master_Down_Interval (≈ 3.6
 * advert intervals). keepalived runs in the foreground (`--dont-fork
 * --log-console --no-syslog`, VRRP only), its log read from stderr; its files
 * live in a temp dir, so instances never collide. Everything is killed when
 * this process exits (lab/testbed/cleanup.ts), and by the LAN's teardown.
 */
export async function startKeepalived(
  lan: Lan,
  hosts: readonly Host[],
  opts: KeepalivedOptions,
): Promise<KeepalivedCluster> {
  if (hosts.length === 0) throw new RangeError('startKeepalived: no hosts');
  const priorities = opts.priorities ?? defaultPriorities(hosts.length);
  if (priorities.length !== hosts.length)
    throw new RangeError(`${hosts.length} hosts but ${priorities.length} priorities`);
  const bin = systemTool('keepalived');
  const peers = (host: Host): string[] => hosts.filter((h) => h !== host).map((h) => h.ipv4);
  // Rendered first: a bad option throws before anything runs.
  const configs = hosts.map((host, i) =>
    keepalivedConfig({
      routerId: host.name,
      vip: opts.vip,
      advertIntervalMs: opts.advertIntervalMs,
      priority: priorities[i] ?? 100,
      virtualRouterId: opts.virtualRouterId ?? DEFAULT_VIRTUAL_ROUTER_ID,
      ...(opts.unicast === true ? { unicast: { src: host.ipv4, peers: peers(host) } } : {}),
    }),
  );
  const dir = mkdtempSync(join(tmpdir(), `meshlb-keepalived-${lan.id}-`));
  const changes: StateChange[] = [];
  const instances = hosts.map((host, i): Instance => {
    const conf = join(dir, `${host.name}.conf`);
    writeFileSync(conf, configs[i] ?? '');
    const argv = [
      bin,
      '--vrrp',
      '--dont-fork',
      '--log-console',
      '--no-syslog',
      '--use-file',
      conf,
      '--pid',
      join(dir, `${host.name}.pid`),
      '--vrrp_pid',
      join(dir, `${host.name}.vrrp.pid`),
      '--checkers_pid',
      join(dir, `${host.name}.checkers.pid`),
    ];
    // Its own process group (keepalived forks a VRRP child): stop() signals the group.
    const proc = lan.spawn(host, argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    const inst: Instance = {
      host,
      proc,
      state: 'INIT',
      log: [],
      exit: undefined,
      exited: new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          inst.exit = signal ?? String(code);
          resolve();
        });
        proc.once('error', (err) => {
          inst.exit = err.message;
          resolve();
        });
      }),
    };
    createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      observe(inst, line, changes);
    });
    return inst;
  });
  const cluster = new KeepalivedCluster(lan, opts.vip, opts.advertIntervalMs, dir, instances, changes);
  try {
    await cluster.steady(opts.startTimeoutMs ?? 10_000 + 5 * opts.advertIntervalMs);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
