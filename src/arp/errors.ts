/**
 * Thrown when this process may not open a packet socket (EPERM / EACCES): it
 * lacks CAP_NET_RAW in its network namespace's user namespace.
 */
export class PacketSocketPermissionError extends Error {
  override name = 'PacketSocketPermissionError';
  readonly code: string;
  readonly syscall: string;

  constructor(ifname: string, code: string, syscall: string) {
    super(
      `cannot open a packet socket on ${ifname} (${syscall}: ${code}): the speaker needs CAP_NET_RAW ` +
        '(in its Pod: securityContext.capabilities.add: [NET_RAW]) or to run as root',
    );
    this.code = code;
    this.syscall = syscall;
  }
}

/** Thrown when no network interface of that name exists in this process's network namespace. */
export class InterfaceNotFoundError extends Error {
  override name = 'InterfaceNotFoundError';
  readonly ifname: string;

  /** `message`: what to do, where the caller knows better than the default. */
  constructor(ifname: string, message?: string) {
    super(
      message ??
        `no network interface named ${JSON.stringify(ifname)} in this network namespace ` +
          '(check the L2Advertisement interfaces and `ip link` on the node)',
    );
    this.ifname = ifname;
  }
}

/** A failed system call: `code` is the errno name, `syscall` the call that failed. */
abstract class SyscallError extends Error {
  readonly code: string;
  readonly syscall: string;

  constructor(message: string, code: string, syscall: string) {
    super(message);
    this.code = code;
    this.syscall = syscall;
  }
}

/**
 * Thrown when a packet-socket system call fails for any other reason; `code`
 * is the errno name ('ENETDOWN', 'ENOBUFS', 'EBADF' once closed, ...) and
 * `syscall` the call that failed.
 */
export class PacketSocketError extends SyscallError {
  override name = 'PacketSocketError';
}

/**
 * Thrown when the netlink route socket (link and address changes) cannot be
 * opened or used; `code` is the errno name, `syscall` the call that failed.
 */
export class NetlinkSocketError extends SyscallError {
  override name = 'NetlinkSocketError';
}

/**
 * Thrown when the packet-socket addon (native/build/Release/meshlb_packet.node)
 * cannot be loaded: it was not built, or was built for another platform.
 */
export class NativeAddonMissingError extends Error {
  override name = 'NativeAddonMissingError';
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(
      `cannot load the packet-socket addon ${path} (${why}): build it with ` +
        '`source scripts/bootstrap.sh && meshlb_ensure_native` (needs make, gcc and python3)',
      { cause },
    );
    this.path = path;
  }
}

/** Why bytes from a netlink socket are not route messages. */
export type NetlinkParseErrorCode = 'truncated' | 'bad-length' | 'bad-attribute' | 'bad-payload';

/**
 * Thrown when bytes read from a netlink socket are not well-formed netlink
 * route messages. The parser throws nothing else, whatever the input.
 */
export class NetlinkParseError extends Error {
  override name = 'NetlinkParseError';
  readonly code: NetlinkParseErrorCode;

  constructor(code: NetlinkParseErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
