/** One `meshlb` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}
