import { isIP } from 'node:net';

/** Thrown when a listen address is not `host:port`, `:port` or `[ipv6]:port`. */
export class ListenAddressError extends Error {
  override name = 'ListenAddressError';
  readonly address: string;

  constructor(address: string, why: string) {
    super(`"${address}" is not a listen address: ${why}`);
    this.address = address;
  }
}

/** A listen address: `host` '' means every interface. */
export interface ListenAddress {
  host: string;
  port: number;
}

const HOSTNAME = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;

/**
 * Parses `host:port`, `:port` (every interface) or `[ipv6]:port`; port 0 picks
 * a free port. Throws ListenAddressError saying what is wrong.
 */
export function parseListenAddress(addr: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(addr);
  if (m === null) throw new ListenAddressError(addr, 'expected host:port, :port or [ipv6]:port');
  const [, v6, plain, portText = ''] = m;
  const host = v6 ?? plain ?? '';
  if (v6 !== undefined && isIP(v6) !== 6)
    throw new ListenAddressError(addr, `"${v6}" in brackets is not an IPv6 address`);
  if (v6 === undefined && host !== '' && isIP(host) === 0 && !HOSTNAME.test(host))
    throw new ListenAddressError(addr, `"${host}" is not an IP address or a host name`);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65_535)
    throw new ListenAddressError(addr, `the port must be a number from 0 to 65535; got "${portText}"`);
  return { host, port };
}
