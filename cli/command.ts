/** The shape of a `seqgrad` sub-command: a thin layer that parses flags and calls the library. */
export interface Command {
  name: string;
  /** One line for `seqgrad --help`. */
  summary: string;
  /** Returns the process exit code (0 success, 1 a check failed, 2 bad input). */
  run(argv: string[]): Promise<number> | number;
}
