/**
 * The Kubernetes client's errors. KubeApiError is an answer from the API
 * server (its HTTP status in `code`, the Status object's reason and message);
 * anything else (a refused connection, a TLS failure, a timeout) stays the
 * error Node raised.
 */

/** The API server answered with a status of 400 or more. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  /** The HTTP status: 404 not found, 409 conflict, 410 gone (a watch's resourceVersion expired), … */
  readonly code: number;
  /** The Status object's reason (NotFound, AlreadyExists, Conflict, Forbidden, …), if any. */
  readonly reason: string | undefined;
  /** The response body as received (a Status object, usually). */
  readonly body: string;

  constructor(method: string, path: string, code: number, body: string) {
    const status = parseStatus(body);
    super(`${method} ${path}: ${code}${status.message === undefined ? '' : ` ${status.message}`}`);
    this.code = code;
    this.reason = status.reason;
    this.body = body;
  }
}

/** A request that got no complete answer within its bound. */
export class KubeRequestTimeoutError extends Error {
  override name = 'KubeRequestTimeoutError';
}

/** A kubeconfig (or the in-cluster files) that cannot be used: names the file and the field. */
export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

/** A watch stream line that is not a watch event (JSON with a type and an object). */
export class WatchDecodeError extends Error {
  override name = 'WatchDecodeError';
}

function parseStatus(body: string): { reason?: string; message?: string } {
  try {
    const s = JSON.parse(body) as { reason?: unknown; message?: unknown };
    return {
      ...(typeof s.reason === 'string' ? { reason: s.reason } : {}),
      ...(typeof s.message === 'string' ? { message: s.message } : {}),
    };
  } catch {
    return body.length === 0 ? {} : { message: body.slice(0, 200) };
  }
}

/** The HTTP status of a KubeApiError, else undefined. */
export const apiCode = (err: unknown): number | undefined =>
  err instanceof KubeApiError ? err.code : undefined;
