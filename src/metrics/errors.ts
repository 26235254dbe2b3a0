/** Thrown when the endpoint server cannot listen (address in use, not on this host, no permission). */
export class EndpointListenError extends Error {
  override name = 'EndpointListenError';
  /** The errno name (`EADDRINUSE`, `EADDRNOTAVAIL`, `EACCES`, …), when the system gave one. */
  readonly code: string | undefined;
  readonly address: string;

  constructor(address: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const what =
      code === 'EADDRINUSE'
        ? 'the port is in use'
        : code === 'EADDRNOTAVAIL'
          ? 'no interface of this host has that address'
          : code === 'EACCES'
            ? 'permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE)'
            : cause instanceof Error
              ? cause.message
              : String(cause);
    super(`cannot listen on ${address}: ${what}${code === undefined ? '' : ` (${code})`}`, { cause });
    this.code = code;
    this.address = address;
  }
}
