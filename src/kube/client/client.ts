/**
 * A small Kubernetes REST client over node:https: JSON requests and watch
 * streams, nothing generated. It replaced @kubernetes/client-node in the
 * product, whose index loads ~900 generated model classes (~43 MiB of every
 * speaker's resident memory, docs/benchmarks.md) for the dozen calls meshlb
 * makes. Objects come back as the API server's JSON (timestamps are strings).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { apiCode, KubeApiError, KubeConfigError, KubeRequestTimeoutError } from './errors.ts';
import type { KubeTarget } from './kubeconfig.ts';
import { WatchLines, type WatchEvent } from './watch-stream.ts';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content-Type of the body (default application/json; patches name their kind). */
  contentType?: string;
  /** Give up after this long (default KUBE_CLIENT_DEFAULTS.requestTimeoutMs). */
  timeoutMs?: number;
  /** Abandons the request when aborted (its owner stopped): it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface KubeClientOptions {
  userAgent?: string;
  requestTimeoutMs?: number;
  tokenRefreshMs?: number;
}

export const KUBE_CLIENT_DEFAULTS = Object.freeze({
  /**
   * A request without an answer after this long fails (client-go sets none by
   * default; a hung connection would then stall whatever waits on it). Long
   * enough for a list of thousands of Services on a busy API server.
   */
  requestTimeoutMs: 30_000,
  /** A token file is read again after this long: client-go's period for rotating ServiceAccount tokens. */
  tokenRefreshMs: 60_000,
});

/** What a list returns: the items and the resourceVersion to watch from. */
export interface KubeList<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export interface KubeWatch {
  /** Resolves when the server ends the stream (its timeoutSeconds) or abort() is called; rejects on an error. */
  done: Promise<void>;
  abort(): void;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';
/** Merges lists by their key (a Pod's conditions by type) instead of replacing them. */
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

function queryString(q: Query | undefined): string {
  if (q === undefined) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export class KubeClient {
  readonly target: KubeTarget;
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #options: Required<KubeClientOptions>;
  #token: { value: string; readAt: number } | undefined;

  constructor(target: KubeTarget, options: KubeClientOptions = {}) {
    this.target = target;
    this.#url = new URL(target.server);
    this.#options = {
      userAgent: options.userAgent ?? 'meshlb',
      requestTimeoutMs: options.requestTimeoutMs ?? KUBE_CLIENT_DEFAULTS.requestTimeoutMs,
      tokenRefreshMs: options.tokenRefreshMs ?? KUBE_CLIENT_DEFAULTS.tokenRefreshMs,
    };
    // keepAlive also turns on TCP keep-alive probes, so a watch on a peer that vanished fails.
    const common = { keepAlive: true, keepAliveMsecs: 10_000 };
    this.#agent =
      this.#url.protocol === 'http:'
        ? new http.Agent(common)
        : new https.Agent({
            ...common,
            ...(target.ca === undefined ? {} : { ca: target.ca }),
            ...(target.cert === undefined ? {} : { cert: target.cert }),
            ...(target.key === undefined ? {} : { key: target.key }),
            ...(target.tlsServerName === undefined ? {} : { servername: target.tlsServerName }),
            rejectUnauthorized: target.insecureSkipTlsVerify !== true,
          });
  }

  #bearer(): string | undefined {
    const { token, tokenFile } = this.target;
    if (token !== undefined) return token;
    if (tokenFile === undefined) return undefined;
    const now = Date.now();
    if (this.#token !== undefined && now - this.#token.readAt < this.#options.tokenRefreshMs)
      return this.#token.value;
    try {
      this.#token = { value: readFileSync(tokenFile, 'utf8').trim(), readAt: now };
    } catch (err) {
      // A rotation in progress: keep the token we have; without one there is nothing to send.
      if (this.#token === undefined)
        throw new KubeConfigError(`cannot read the token file ${tokenFile}: ${(err as Error).message}`);
    }
    return this.#token.value;
  }

  #open(
    method: string,
    path: string,
    query: Query | undefined,
    headers: Record<string, string>,
  ): http.ClientRequest {
    const bearer = this.#bearer();
    const prefix = this.#url.pathname.replace(/\/+$/, '');
    return (this.#url.protocol === 'http:' ? http : https).request({
      agent: this.#agent,
      protocol: this.#url.protocol,
      hostname: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: this.#url.port,
      method,
      path: `${prefix}${path}${queryString(query)}`,
      headers: {
        Accept: 'application/json',
        'User-Agent': this.#options.userAgent,
        ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
        ...headers,
      },
    });
  }

  /** One request; the answer's JSON (undefined for an empty body). Throws KubeApiError for a status ≥ 400. */
  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> =
      body === undefined
        ? {}
        : { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': String(body.length) };
    return new Promise<T>((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        req = this.#open(method, path, opts.query, headers);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const timeoutMs = opts.timeoutMs ?? this.#options.requestTimeoutMs;
      const timer = setTimeout(() => {
        req.destroy(new KubeRequestTimeoutError(`${method} ${path}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = (): void => {
        req.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error): void => {
        done();
        reject(err);
      };
      if (opts.signal?.aborted === true) onAbort();
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          done();
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400 || status < 200) {
            reject(new KubeApiError(method, path, status, text));
            return;
          }
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch {
            reject(new KubeApiError(method, path, status, `not JSON: ${text.slice(0, 200)}`));
          }
        });
      });
      req.end(body);
    });
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  /** GET, or undefined when the object does not exist (404). */
  async find<T>(path: string, opts?: RequestOptions): Promise<T | undefined> {
    try {
      return await this.get<T>(path, opts);
    } catch (err) {
      if (apiCode(err) === 404) return undefined;
      throw err;
    }
  }

  list<T>(path: string, query?: Query): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, query === undefined ? {} : { query });
  }

  create<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...opts, body });
  }

  replace<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...opts, body });
  }

  /** A JSON merge patch (RFC 7386), or another kind by contentType. */
  patch<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, { contentType: MERGE_PATCH, ...opts, body });
  }

  delete<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, opts);
  }

  /**
   * Watches `path` from resourceVersion (query), calling onEvent for every
   * event. The server ends the stream after timeoutSeconds; a stream silent
   * for 30 s longer than that is cut here (a peer that vanished).
   */
  watch(
    path: string,
    query: Query & { timeoutSeconds: number },
    onEvent: (e: WatchEvent) => void,
  ): KubeWatch {
    let abort = (): void => undefined;
    const done = new Promise<void>((resolve, reject) => {
      const req = this.#open('GET', path, { ...query, watch: true }, {});
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === undefined) resolve();
        else reject(err);
      };
      const timer = setTimeout(
        () => {
          req.destroy(
            new KubeRequestTimeoutError(
              `watch ${path}: still open ${query.timeoutSeconds + 30} s after its timeout`,
            ),
          );
        },
        (query.timeoutSeconds + 30) * 1000,
      );
      abort = () => {
        finish();
        req.destroy();
      };
      req.on('error', (err) => {
        finish(err);
      });
      req.on('response', (res) => {
        res.setEncoding('utf8');
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            finish(new KubeApiError('WATCH', path, status, text));
          });
          return;
        }
        const lines = new WatchLines();
        const deliver = (e: WatchEvent): void => {
          if (!settled) onEvent(e);
        };
        res.on('data', (c: string) => {
          try {
            lines.push(c, deliver);
          } catch (err) {
            finish(err as Error);
            req.destroy();
          }
        });
        res.on('error', (err) => {
          finish(err);
        });
        res.on('end', () => {
          try {
            lines.end(deliver);
            finish();
          } catch (err) {
            finish(err as Error);
          }
        });
      });
      req.end();
    });
    return {
      done,
      abort: () => {
        abort();
      },
    };
  }

  /** Closes idle connections (open watches are aborted by their owners). */
  close(): void {
    this.#agent.destroy();
  }
}
