/**
 * `npm start` (or `node dist/app.mjs`) as a child process: its stdout and stderr collected,
 * a wait for a line bounded in time, and a stop that sends the signal a person's Ctrl-C sends
 * (to the whole process group, as a terminal does) and waits for the exit, also bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface AppProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching, or rejects after `ms` with what was printed. */
  waitForLine(pattern: RegExp, ms?: number): Promise<string>;
  /** Sends `signal` to the process group; resolves with the exit code (or kills it after `ms`). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number | null>;
  exited(): Promise<number | null>;
  /** The signal that ended it, if one did (npm re-raises a Ctrl-C on itself once its script has ended). */
  exitSignal(): NodeJS.Signals | null;
}

export function startAppProcess(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): AppProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  let ended: NodeJS.Signals | null = null;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = signal;
      resolve(code);
    }),
  );
  void exit.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  let gone = false;
  void exit.then(() => (gone = true));

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    exitSignal: () => ended,
    waitForLine(pattern, ms = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no stdout line matching ${pattern} within ${ms} ms\nstdout:\n${out}\nstderr:\n${err}`)), ms);
        const look = () => {
          const line = out.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            clearTimeout(deadline);
            resolve(line);
          } else if (gone) {
            clearTimeout(deadline);
            reject(new Error(`exited (${child.exitCode}) before a line matching ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
          } else waiters.push(look);
        };
        look();
      });
    },
    async stop(signal = 'SIGINT', ms = 15_000) {
      if (gone) return exit;
      try {
        process.kill(-child.pid!, signal);
      } catch {
        return exit;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, ms);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}
