import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onExit } from '../cleanup.ts';
import { splice } from './splice.ts';
import type { Host, Lan } from './lan.ts';

const FORWARDER = fileURLToPath(new URL('./api-forwarder.ts', import.meta.url));

/**
 * The API server (on the root namespace's 127.0.0.1) reachable at the same
 * address from inside LAN hosts: a relay process per host listens on the
 * host's own 127.0.0.1:<port> and forwards through a Unix socket to this
 * process, which connects to the API server. TLS passes through untouched,
 * so the server's certificate (for 127.0.0.1) and kubeconfigs work as they
 * are. The management path is separate from the LAN: cutting a host's link
 * or partitioning the LAN leaves its API access alone, as with a control
 * plane on its own network.
 */
export class ApiAccess {
  readonly port: number;
  readonly #server: Server;
  readonly #dir: string;
  readonly #relays = new Map<string, ChildProcess>();
  readonly #listen = new Map<string, string>();
  readonly #unregister: () => void;

  private constructor(port: number, server: Server, dir: string) {
    this.port = port;
    this.#server = server;
    this.#dir = dir;
    this.#unregister = onExit(() => {
      for (const r of this.#relays.values()) r.kill('SIGKILL');
      rmSync(this.#dir, { recursive: true, force: true });
    });
  }

  get socket(): string {
    return join(this.#dir, 'api.sock');
  }

  /** `apiUrl`: https://127.0.0.1:<port> of the API server. */
  static async open(apiUrl: string): Promise<ApiAccess> {
    const port = Number(new URL(apiUrl).port);
    const dir = mkdtempSync(join(tmpdir(), 'meshlb-api-'));
    const server = createServer((inbound) => {
      splice(inbound, connect(port, '127.0.0.1'));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(join(dir, 'api.sock'), resolve);
    });
    server.unref();
    return new ApiAccess(port, server, dir);
  }

  /**
   * Starts the relay inside `host`; resolves once it listens. `listen`: its
   * address there (default 127.0.0.1; the kubelet lab's 0.0.0.0 lets Pods on
   * the node's bridge reach it too). cut() and relay() again keep it.
   */
  async relay(lan: Lan, host: Host, opts: { listen?: string } = {}): Promise<void> {
    if (this.#relays.has(host.ns)) return;
    const listen = opts.listen ?? this.#listen.get(host.ns) ?? '127.0.0.1';
    this.#listen.set(host.ns, listen);
    const child = lan.spawn(host, [process.execPath, FORWARDER, String(this.port), this.socket, listen], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#relays.set(host.ns, child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => {
        reject(new Error(`the API relay in ${host.ns} exited (${String(code)})`));
      });
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', () => {
        resolve();
      });
    });
    child.unref();
  }

  /** The host loses the API server (its relay stops; open connections break). relay() restores it. */
  cut(host: Host): void {
    this.#relays.get(host.ns)?.kill('SIGKILL');
    this.#relays.delete(host.ns);
  }

  async close(): Promise<void> {
    this.#unregister();
    for (const r of this.#relays.values()) r.kill('SIGKILL');
    this.#relays.clear();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
