/**
 * Thrown when text is not a valid address (a MAC, an IP, a pool's CIDR or range), or is
 * the wrong kind of address for its role (for example a unicast IPv6 address where a
 * multicast one is needed). `reason` says which rule it broke.
 */
export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
  /** The text that was rejected. */
  readonly input: string;
  /** Which rule it broke, without the input. */
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`${JSON.stringify(input)}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}
