/** Thrown when a keepalived instance exited while it should run (a bad configuration, a missing binary); the message ends with its log. */
export class KeepalivedExitedError extends Error {
  override name = 'KeepalivedExitedError';
}

/** Thrown when the VRRP cluster did not reach the expected state (one MASTER holding the IP, the rest BACKUP) within its deadline. */
export class KeepalivedTimeoutError extends Error {
  override name = 'KeepalivedTimeoutError';
}
