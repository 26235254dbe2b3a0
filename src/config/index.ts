// The processes' settings: the config file both read (the ConfigMap
// meshlb-config) with its one JSON Schema, checked by the processes and
// carried by the chart; and the rules every command resolves flags and
// variables by (options.ts).
export { CliUsageError, ConfigFileError } from './errors.ts';
export { DEFAULT_CONFIG_FILE, fileValue, readConfigFile, type ConfigDocument } from './file.ts';
export { CONFIG_SCHEMA, LOG_LEVELS, type LogLevel, type Schema } from './schema.ts';
export { configProblems } from './validate.ts';
export {
  DEFAULT_NAMESPACE,
  DNS_LABEL,
  listenAddrOf,
  loadKubeClient,
  logLevelOf,
  millisOf,
  namespaceOf,
  nonEmpty,
  picker,
  readNamespaceFile,
  type Picked,
} from './options.ts';
