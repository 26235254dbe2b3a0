// The CLI's usage error is the settings' (config/errors.ts): settings code
// throws it, the CLI catches it.
export { CliUsageError } from '../config/index.ts';
