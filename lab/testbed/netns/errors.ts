/** Network namespaces cannot be made here (not root, or iproute2 missing). */
export class NetnsUnavailableError extends Error {
  override name = 'NetnsUnavailableError';
}

/** Building or changing the LAN failed; the message names the command and its error. */
export class NetnsSetupError extends Error {
  override name = 'NetnsSetupError';
}
