import { execFileSync } from 'node:child_process';

// End-to-end tests run the real bundle, exactly as users do: build it once per run.
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
}
