import { basename } from 'node:path';
import { main } from './main.ts';

// The single-executable build. Copied into a repository as hooks/pre-receive it runs the hook
// with no arguments, exactly as git invokes it.
const invokedAs = basename(process.execPath);
const args = invokedAs === 'pre-receive' ? ['hook', 'pre-receive'] : process.argv.slice(2);

main(args, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`signet: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
