/** What processes cost, from /proc: CPU ticks (user + system), resident memory, command lines. */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export interface ProcSample {
  cmd: string;
  /** user + system clock ticks so far */
  ticks: number;
  /** VmRSS, bytes */
  rssBytes: number;
}

/** Every process now. */
export function sampleProcs(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1];
      out.set(Number(d), { cmd, ticks: Number(f[11]) + Number(f[12]), rssBytes: Number(rss ?? 0) * 1024 });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const HZ = 100; // USER_HZ on Linux

/** CPU of `pid` between two samples taken `secs` apart, in percent of one core. */
export function cpuPercent(
  a: Map<number, ProcSample>,
  b: Map<number, ProcSample>,
  pid: number,
  secs: number,
): number {
  const x = b.get(pid);
  const y = a.get(pid);
  return x === undefined || y === undefined ? 0 : ((x.ticks - y.ticks) / HZ / secs) * 100;
}

/** Every process sampled at the start and the end of a measured window. */
export interface ProcWindow {
  /** The window's length in seconds, as measured. */
  secs: number;
  /** The samples at its end (command lines, resident memory). */
  after: Map<number, ProcSample>;
  /** CPU of `pid` over the window, in percent of one core. */
  cpu: (pid: number) => number;
}

/** Waits `warmupSeconds`, then samples every process over `seconds`. */
export async function measureWindow(warmupSeconds: number, seconds: number): Promise<ProcWindow> {
  await delay(warmupSeconds * 1_000);
  const before = sampleProcs();
  const t0 = performance.now();
  await delay(seconds * 1_000);
  const after = sampleProcs();
  const secs = (performance.now() - t0) / 1_000;
  return { secs, after, cpu: (pid) => cpuPercent(before, after, pid, secs) };
}
