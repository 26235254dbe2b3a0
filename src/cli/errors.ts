/** Bad flags or arguments: the CLI prints the message and the command's help, and exits 2. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}
