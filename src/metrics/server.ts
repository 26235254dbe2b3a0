import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { EndpointListenError } from './errors.ts';
import { parseListenAddress, type ListenAddress } from '../ip/index.ts';

/** A health or readiness verdict; `reasons` say why not (shown in the 503 body). */
export interface Readiness {
  ready: boolean;
  reasons: string[];
}

/**
 * What one server serves; a route whose source is left out is a 404 there
 * (a process may serve /metrics on one address and the probes and debug
 * bodies on another, endpoints.ts).
 */
export interface EndpointServerInit {
  /** `/metrics`. */
  registry?: Registry;
  log: Logger;
  /** Liveness (`/healthz`); default, when `ready` is given: healthy while the process answers. */
  health?: () => Readiness;
  /** Readiness (`/readyz`); without it, neither probe is served. */
  ready?: () => Readiness;
  /** Path suffix → JSON body: `{ mesh: () => ({…}) }` is served at `/debug/mesh`. */
  debug?: Record<string, () => unknown>;
}

/** JSON for debug bodies: bigints as strings, Maps as objects, Sets as arrays. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown): unknown => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v as Map<PropertyKey, unknown>);
      if (v instanceof Set) return [...(v as Set<unknown>)];
      return v;
    },
    2,
  );
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The HTTP endpoints of a meshlb process: `/metrics` (Prometheus text format),
 * `/healthz` and `/readyz` (200 `ok`, or 503 with the reasons), and
 * `/debug/<name>` (JSON). GET and HEAD only (405 otherwise); any other path
 * is 404. A request handler never throws: a collector, check or debug
 * function that throws becomes a 500 and an error log line.
 *
 *   const server = new EndpointServer({ registry, log, ready: () => ({ ready: true, reasons: [] }) });
 *   const { port } = await server.listen(':7475');
 *   …
 *   await server.close();
 */
export class EndpointServer {
  readonly #init: EndpointServerInit;
  readonly #server: Server;
  #listening = false;

  constructor(init: EndpointServerInit) {
    this.#init = init;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#fail(req, res, err);
      });
    });
    // After listen() succeeded; errors while listening reject listen() instead.
    this.#server.on('error', (err) => {
      if (this.#listening) this.#init.log.error({ err }, 'endpoint server error');
    });
  }

  /**
   * Listens on `addr` (see parseListenAddress); returns the address and port
   * bound (the port picked, for port 0). Throws ListenAddressError for a bad
   * address and EndpointListenError when the system refuses it.
   */
  async listen(addr: string): Promise<ListenAddress> {
    const { host, port } = parseListenAddress(addr);
    if (this.#server.listening) throw new Error('EndpointServer is already listening');
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new EndpointListenError(addr, err));
      };
      this.#server.once('error', onError);
      this.#server.listen({ port, ...(host === '' ? {} : { host }) }, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#listening = true;
    const a = this.#server.address();
    if (a === null || typeof a === 'string') return { host, port };
    return { host: a.address, port: a.port };
  }

  /** The paths served, for the log (`/debug/<name>` for each debug body). */
  paths(): string[] {
    const { registry, ready, debug } = this.#init;
    return [
      ...(registry === undefined ? [] : ['/metrics']),
      ...(ready === undefined ? [] : ['/healthz', '/readyz']),
      ...Object.keys(debug ?? {}).map((name) => `/debug/${name}`),
    ];
  }

  /** Stops listening and closes every connection (idle keep-alive ones too). Idempotent. */
  async close(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      this.#send(res, 405, TEXT, 'method not allowed: use GET or HEAD\n');
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const { registry, ready } = this.#init;
    if (path === '/metrics' && registry !== undefined) {
      const body = await registry.metrics();
      this.#send(res, 200, registry.contentType, body);
      return;
    }
    if (path === '/healthz' && ready !== undefined) {
      this.#verdict(res, this.#init.health?.() ?? { ready: true, reasons: [] });
      return;
    }
    if (path === '/readyz' && ready !== undefined) {
      this.#verdict(res, ready());
      return;
    }
    const debug = this.#init.debug;
    if (path.startsWith('/debug/') && debug !== undefined) {
      const name = path.slice('/debug/'.length);
      if (Object.hasOwn(debug, name)) {
        const fn = debug[name];
        if (fn !== undefined) {
          this.#send(res, 200, JSON_TYPE, `${toJson(fn())}\n`);
          return;
        }
      }
    }
    this.#send(res, 404, TEXT, 'not found\n');
  }

  #verdict(res: ServerResponse, r: Readiness): void {
    if (r.ready) this.#send(res, 200, TEXT, 'ok\n');
    else this.#send(res, 503, TEXT, `not ready: ${r.reasons.join('; ') || 'no reason given'}\n`);
  }

  #send(res: ServerResponse, status: number, type: string, body: string): void {
    res.statusCode = status;
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.setHeader('Cache-Control', 'no-store');
    res.end(body); // Node leaves the body out of HEAD responses
  }

  #fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.#init.log.error({ err, method: req.method, url: req.url }, 'endpoint request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      this.#send(res, 500, TEXT, 'internal error (see the process log)\n');
    } catch {
      res.destroy();
    }
  }
}
