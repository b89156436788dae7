/** What a command talks to: its two output streams and the environment it reads. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
}

/**
 * A command line that cannot run as written (an unknown command, a missing or malformed
 * argument): the runner prints the first line of its message and exits 2.
 */
export class UsageError extends Error {}
