/**
 * Thrown when the config file (--config, MESHLB_CONFIG: the ConfigMap
 * meshlb-config) cannot be read or holds a wrong setting. Not a usage error:
 * the command line was fine, so the CLI prints this one line (naming the file
 * and the setting) and exits 1, without the usage text.
 */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/**
 * Bad flags, variables or arguments (a setting given on the command line or
 * in the environment): the CLI prints the message and the command's help,
 * and exits 2. Settings code throws it; the CLI catches it.
 */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}
