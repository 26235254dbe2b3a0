/** What processes cost, from /proc: CPU ticks (user + system), resident memory, command lines. */
import { readdirSync, readFileSync } from 'node:fs';

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
