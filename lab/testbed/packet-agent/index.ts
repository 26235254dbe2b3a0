/**
 * PacketAgent: drives ./agent.ts, a process inside one host of a namespace
 * LAN that holds packet sockets and a LinkMonitor (the speaker's view of the
 * wire), so wire tests can open sockets where a speaker would, as root or as
 * an unprivileged user with or without CAP_NET_RAW.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { onExit } from '../cleanup.ts';
import type { Host, Lan } from '../netns/index.ts';

const AGENT = fileURLToPath(new URL('./agent.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ADDON = 'native/build/Release/meshlb_packet.node';

/** Can user nobody read (and reach) this path? */
function nobodyReads(path: string): boolean {
  return (
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', path]).status ===
    0
  );
}

let staged: { node: string; agent: string } | undefined;

/**
 * The node binary and agent script an unprivileged agent runs. The checkout
 * itself when user nobody can read it; otherwise (a checkout in a 0700 temp
 * directory, say) a world-readable copy of what the agent loads: src/, the
 * agent's own directory (lab/testbed/packet-agent/), package.json, the addon,
 * and the node binary. The agent imports no package from node_modules at run
 * time.
 */
function forNobody(): { node: string; agent: string } {
  if (nobodyReads(process.execPath) && nobodyReads(AGENT)) return { node: process.execPath, agent: AGENT };
  if (staged !== undefined) return staged;
  const dir = mkdtempSync(join(tmpdir(), 'meshlb-agent-'));
  chmodSync(dir, 0o755);
  onExit(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(dirname(AGENT), join(dir, relative(ROOT, dirname(AGENT))), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  mkdirSync(join(dir, 'native/build/Release'), { recursive: true });
  copyFileSync(join(ROOT, ADDON), join(dir, ADDON));
  copyFileSync(process.execPath, join(dir, 'node'));
  chmodSync(join(dir, 'node'), 0o755);
  staged = { node: join(dir, 'node'), agent: join(dir, relative(ROOT, AGENT)) };
  return staged;
}

/**
 * Who the agent runs as: root; user nobody with no capability at all; or
 * nobody with CAP_NET_RAW only (ambient, the rest of the bounding set dropped),
 * as a speaker Pod with `capabilities: {drop: [ALL], add: [NET_RAW]}`.
 */
export type AgentUser = 'root' | 'nobody' | 'nobody+net_raw';

const SETPRIV: Record<Exclude<AgentUser, 'root'>, string[]> = {
  nobody: [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
  ],
  'nobody+net_raw': [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--inh-caps=+net_raw',
    '--ambient-caps=+net_raw',
    '--bounding-set=-all,+net_raw',
  ],
};

/** What an operation failed with, as the agent saw it. */
export interface AgentError {
  name: string;
  message: string;
  code: string | undefined;
}

/** A line the agent printed on its own: frames, errors, link-monitor events. */
export interface AgentEvent {
  event: 'frames' | 'error' | 'link-monitor' | 'sync' | 'wire' | 'blocking';
  /** Wall-clock ms, on 'wire' and 'frames' events (when the agent received them). */
  t?: number;
  name?: string;
  afterClose?: boolean;
  frames?: { hex: string; pktType: string }[];
  error?: AgentError;
  value?: Record<string, unknown>;
}

/** Thrown when the agent reports that an operation failed; `error` is what it threw. */
export class AgentOpError extends Error {
  override name = 'AgentOpError';
  readonly error: AgentError;

  constructor(op: string, error: AgentError) {
    super(`agent ${op}: ${error.name}: ${error.message}`);
    this.error = error;
  }
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: AgentError;
}

export class PacketAgent {
  readonly host: Host;
  readonly pid: number;
  /** The agent's real user ID (65534 for nobody). */
  readonly uid: number;
  /** Every event so far, in order. */
  readonly events: AgentEvent[] = [];
  readonly #proc: ChildProcess;
  readonly #pending = new Map<number, (r: Reply) => void>();
  readonly #exited: Promise<void>;
  #nextId = 1;

  private constructor(
    host: Host,
    proc: ChildProcess,
    ready: { pid: number; uid: number },
    exited: Promise<void>,
  ) {
    this.host = host;
    this.#proc = proc;
    this.pid = ready.pid;
    this.uid = ready.uid;
    this.#exited = exited;
    void exited.then(() => {
      for (const [id, done] of this.#pending) {
        done({ id, ok: false, error: { name: 'AgentExited', message: 'the agent exited', code: undefined } });
      }
      this.#pending.clear();
    });
  }

  /** Starts an agent inside `host`; resolves once it is ready for commands. */
  static start(lan: Lan, host: Host, user: AgentUser = 'root'): Promise<PacketAgent> {
    const run = user === 'root' ? { node: process.execPath, agent: AGENT } : forNobody();
    const argv = [...(user === 'root' ? [] : SETPRIV[user]), run.node, run.agent];
    const env = { ...process.env };
    // An unprivileged agent cannot write root's coverage directory.
    if (user !== 'root') delete env.NODE_V8_COVERAGE;
    const proc = lan.spawn(host, argv, { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        resolve();
      }),
    );
    return new Promise((resolve, reject) => {
      let agent: PacketAgent | undefined;
      proc.once('error', reject);
      void exited.then(() => {
        if (agent === undefined)
          reject(new Error(`agent in ${host.name} exited before it was ready: ${stderr}`));
      });
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (agent === undefined) {
          if (msg.ready !== true) return;
          agent = new PacketAgent(host, proc, { pid: msg.pid as number, uid: msg.uid as number }, exited);
          resolve(agent);
          return;
        }
        agent.#line(msg);
      });
    });
  }

  #line(msg: Record<string, unknown>): void {
    if (typeof msg.id === 'number') {
      const done = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      done?.(msg as unknown as Reply);
    } else {
      this.events.push(msg as unknown as AgentEvent);
    }
  }

  /** Runs one operation in the agent; rejects with AgentOpError when it threw there. */
  async op<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    const reply = await new Promise<Reply>((resolve) => {
      this.#pending.set(id, resolve);
      this.#proc.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
    if (!reply.ok)
      throw new AgentOpError(op, reply.error ?? { name: 'Error', message: 'no error', code: undefined });
    return reply.value as T;
  }

  /** Frames received so far on socket `name` (each with whether it came after close). */
  frames(name: string): { hex: string; pktType: string; afterClose: boolean }[] {
    return this.events
      .filter((e) => e.event === 'frames' && e.name === name)
      .flatMap((e) => (e.frames ?? []).map((f) => ({ ...f, afterClose: e.afterClose === true })));
  }

  /** Asks the agent to close everything and exit; kills it if it does not within 5 s. */
  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    try {
      this.#proc.stdin?.write(`${JSON.stringify({ id: 0, op: 'exit' })}\n`);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
