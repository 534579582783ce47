import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { missingPrerequisites, readPrerequisites } from './helpers/prerequisites.ts';

// End-to-end tests run the real bundle, exactly as users do: build it once per run. If the
// build fails, remove any stale bundle so those tests fail loudly instead of testing old code;
// unit tests of the modules that do compile still run.
export default function setup(): void {
  // A missing tool would fail dozens of tests with spawn ENOENT stack traces: stop at once,
  // one line per missing tool saying how to install it.
  const missing = missingPrerequisites(readPrerequisites());
  if (missing.length > 0) {
    process.stderr.write(`\nsignet's tests need tools this machine lacks (scripts/prerequisites.txt):\n${missing.map((line) => `  ${line}`).join('\n')}\n`);
    process.exit(2);
  }
  try {
    execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'pipe' });
  } catch (error) {
    rmSync('dist/signet.mjs', { force: true });
    process.stderr.write(`\nbundle build failed; CLI tests will fail:\n${(error as { stderr?: Buffer }).stderr?.toString() ?? error}\n`);
  }
}
