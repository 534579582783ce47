// The single-executable build. Copied into a repository as hooks/pre-receive it runs the hook
// with no arguments, exactly as git invokes it.
import { basename } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { tuneProcess } from '../../bin/process-tuning.js';
import { parsePolicy } from '../core/policy/parse.ts';
import { endQuietlyWhenReaderLeaves } from './closed-pipe.ts';
import { main } from './main.ts';
import { warmUp } from './warm-up.ts';

const WARM_UP_POLICY = `version: 1
keys:
  openpgp: [a.asc, b.asc]
  ssh_allowed_signers: allowed_signers
groups:
  release: [alice@example.com, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
rules:
  - refs: [refs/heads/main, "refs/heads/release/*"]
    require_signed_commits: true
    accept: [G]
    signers: [group:release]
    paths:
      - match: [".github/workflows/**"]
        signers: [alice@example.com]
    forbid_force_push: true
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
`;

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

// Built as a V8 startup snapshot: the modules the hook and `verify` need (yaml, pino, the
// verifier) are initialised once at build time and their heap ships in the executable, so a
// push does not pay for it (measured: a 1-commit hook run 158 → 127 ms). Only what runs inside
// `run` sees this process's argv, environment and clock. openpgp.js is not in it: only keyrings
// the native reader refuses and the fallback verifier load it, and its 3 MB of snapshot cost
// every run ~10 ms of deserialising (`dist/signet --version` ~60 → ~50 ms, blob 21.5 → 18.4 MB).
if (startupSnapshot.isBuildingSnapshot()) {
  void import('./commands/hook.ts');
  void import('./commands/verify.ts');
  // Parse a policy once, so yaml's parser is compiled in the snapshot too (pure: no I/O).
  parsePolicy(WARM_UP_POLICY, 'warm-up');
  // Run verify and the hook once, so that what they call is compiled in the snapshot too.
  warmUp().catch((error: unknown) => {
    process.stderr.write(`signet: the snapshot warm-up failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
  startupSnapshot.setDeserializeMainFunction(run);
} else {
  run();
}
