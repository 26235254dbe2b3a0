import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Host, Lan, Observation } from '../netns/index.ts';

const TCP_PROBE = fileURLToPath(new URL('./tcp-probe.ts', import.meta.url));

/** One TCP connect attempt of the client: wall-clock ms at its start, whether it got an answer, and from which node. */
export interface TcpAttempt {
  t: number;
  ok: boolean;
  node: string | null;
  /** The client address the backend saw, when it says (kubelet/backends.ts). */
  source: string | null;
  ms: number;
  /** Why it failed: `no connection in time`, `no answer in time`, the socket error (ECONNRESET, …), `empty answer`. */
  why?: string;
}

/**
 * Connects to `ip`:`port` from `host` every `intervalMs` ms (each attempt with
 * a `timeoutMs` deadline) and lists the attempts as they finish.
 */
export function tcpAttempts(
  lan: Lan,
  host: Host,
  ip: string,
  opts: { port?: number; intervalMs?: number; timeoutMs?: number } = {},
): Observation<TcpAttempt> {
  const list: TcpAttempt[] = [];
  const child = lan.spawn(host, [
    process.execPath,
    TCP_PROBE,
    ip,
    String(opts.port ?? 80),
    String(opts.intervalMs ?? 10),
    String(opts.timeoutMs ?? 200),
  ]);
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      list.push(JSON.parse(line) as TcpAttempt);
    } catch {
      // a partial line at exit
    }
  });
  return { list, stop: () => child.kill('SIGKILL') };
}

/**
 * The longest time without a successful attempt between `from` and `to`
 * (wall-clock ms): from the last success before `from` (or `from`) to the
 * first success after it, and so on. `to` bounds a gap still open at the end.
 */
export function longestTcpGap(attempts: readonly TcpAttempt[], from: number, to: number): number {
  const ok = attempts
    .filter((a) => a.ok)
    .map((a) => a.t)
    .sort((a, b) => a - b);
  let last = Math.max(...ok.filter((t) => t <= from), Number.NEGATIVE_INFINITY);
  if (last === Number.NEGATIVE_INFINITY) last = from;
  let gap = 0;
  for (const t of ok.filter((x) => x > from && x <= to)) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

/**
 * The client's failed requests among the attempts started between `from` and
 * `to`, and the outage: from the first failure to the first success after it
 * (0 without a failure; up to `to` when none came).
 */
export function tcpOutage(
  attempts: readonly TcpAttempt[],
  from: number,
  to: number,
): { failed: number; outageMs: number } {
  const window = attempts.filter((a) => a.t >= from && a.t <= to).sort((a, b) => a.t - b.t);
  const failed = window.filter((a) => !a.ok);
  const first = failed[0];
  if (first === undefined) return { failed: 0, outageMs: 0 };
  const back = window.find((a) => a.ok && a.t > first.t);
  return { failed: failed.length, outageMs: (back?.t ?? to) - first.t };
}

const CLIENT_AGENT = fileURLToPath(new URL('./client-agent.ts', import.meta.url));

/** HTTP GETs from inside a host through one long-running agent process (client-agent.ts). */
export class HttpAgent {
  readonly #child: ReturnType<Lan['spawn']>;
  readonly #waiting = new Map<number, (r: { status: number; body: string }) => void>();
  #seq = 0;

  constructor(lan: Lan, host: Host) {
    this.#child = lan.spawn(host, [process.execPath, CLIENT_AGENT], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.unref();
    createInterface({ input: this.#child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const r = JSON.parse(line) as { id: number; status: number; body: string };
      this.#waiting.get(r.id)?.(r);
      this.#waiting.delete(r.id);
    });
    this.#child.once('exit', () => {
      for (const w of this.#waiting.values()) w({ status: 0, body: 'agent exited' });
      this.#waiting.clear();
    });
  }

  get(url: string, timeoutMs = 1_000): Promise<{ status: number; body: string }> {
    const id = ++this.#seq;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.stdin?.write(`${JSON.stringify({ id, url, timeoutMs })}\n`);
    });
  }

  stop(): void {
    this.#child.kill('SIGKILL');
  }
}
