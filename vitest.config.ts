import { defineConfig } from 'vitest/config';

// Two tiers, mirroring src/ by area: test/unit/<area>/ calls signet's modules in-process (no git
// server, database, browser, registry, network service or signet subprocess) and stays well
// under a minute; test/e2e/<area>/ is the rest. The bundle
// (dist/) is built once by the global setup, which both tiers share.
const shared = {
  globalSetup: ['test/global-setup.ts'],
  setupFiles: ['test/fast-check-seed.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // vitest's default is one worker fewer than the cores: one on the 2-core CI machine, where
    // most tests wait on git, gpg, servers and child processes rather than compute.
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
