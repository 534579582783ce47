/** What a command may touch of the process: injected so commands can be tested in-process. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export type CommandRunner = (argv: string[], io: CliIO) => Promise<number>;

/**
 * Exit codes shared by every command (README "Exit status", docs/architecture.md "Errors"):
 * 0 ok, 1 verification failed, 2 usage, configuration or input error (and internal errors),
 * 3 an outage — something signet needs did not answer; nothing was judged, try again.
 */
export const EXIT_OK = 0;
export const EXIT_POLICY_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_OUTAGE = 3;
