import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

// End-to-end tests run the real bundle, exactly as users do: build it once per run. If the
// build fails, remove any stale bundle so those tests fail loudly instead of testing old code;
// unit tests of the modules that do compile still run.
export default function setup(): void {
  try {
    execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'pipe' });
  } catch (error) {
    rmSync('dist/signet.mjs', { force: true });
    process.stderr.write(`\nbundle build failed; CLI tests will fail:\n${(error as { stderr?: Buffer }).stderr?.toString() ?? error}\n`);
  }
}
