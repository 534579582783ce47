// The single-executable build. Copied into a repository as hooks/pre-receive it runs the hook
// with no arguments, exactly as git invokes it.
//
// No startup snapshot (scripts/build-sea.mjs): a snapshot of this bundle made the executable's
// start 72 MiB and its 100,000-commit verify ~145 MiB, over the 128 MiB budget; without it they
// are about 62 and 122 MiB (docs/architecture.md, "The single executable"). Modules initialise
// at run time, as from node, on first use (commands are imported lazily by main). The build
// runs this bundle once with the warm-up instead (verify and the hook on a two-commit
// repository) and ships V8's code cache of what that compiled, so a push does not compile them.
import { basename } from 'node:path';
import { tuneProcess } from '../../bin/process-tuning.js';
import { endQuietlyWhenReaderLeaves } from './closed-pipe.ts';
import { main } from './main.ts';
import { warmUp } from './warm-up.ts';

/** Set only by the build's code-cache step (scripts/sea-code-cache.cjs), never at run time. */
const WARM_UP = Symbol.for('signet.codeCacheWarmUp');

function run(): void {
  // As bin/signet.js does: thread pool sized, optimising compiler delayed; before anything has
  // used the pool.
  tuneProcess();
  const invokedAs = basename(process.execPath);
  endQuietlyWhenReaderLeaves([process.stdout, process.stderr]);
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
}

const warmUpHook = (globalThis as Record<symbol, unknown>)[WARM_UP];
if (typeof warmUpHook === 'function') (warmUpHook as (warm: typeof warmUp) => void)(warmUp);
else run();
