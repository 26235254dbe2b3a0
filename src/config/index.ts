// The config file both processes read (the ConfigMap meshlb-config): its one
// JSON Schema, checked by the processes and carried by the chart.
export { ConfigFileError } from './errors.ts';
export { DEFAULT_CONFIG_FILE, fileValue, readConfigFile, type ConfigDocument } from './file.ts';
export { CONFIG_SCHEMA, LOG_LEVELS, type LogLevel, type Schema } from './schema.ts';
export { configProblems } from './validate.ts';
