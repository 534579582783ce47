/** What a command may touch of the process: injected so commands can be tested in-process. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export type CommandRunner = (argv: string[], io: CliIO) => Promise<number>;

/** Exit codes shared by every command (DESIGN.md, `signet verify` contract). */
export const EXIT_OK = 0;
export const EXIT_POLICY_FAILED = 1;
export const EXIT_USAGE = 2;
