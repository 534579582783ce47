// What the two app benchmarks (app-check.mjs, app-installations.mjs) share: the tests' fakes
// bundled for plain Node, the 250-commit pull request they check, and the environment of
// `node dist/app.mjs` pointed at the local fake GitHub.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The fakes are the tests' TypeScript helpers: bundle them once for plain Node and load them. */
export async function loadAppBenchHelpers(root, name) {
  mkdirSync(join(root, '.bench'), { recursive: true });
  const helpersFile = join(root, '.bench', `${name}-helpers.mjs`);
  await build({
    stdin: {
      contents: [
        "export * from './test/helpers/fake-github.ts';",
        "export * from './test/helpers/fake-github-webhooks.ts';",
        "export * from './test/helpers/http-backend.ts';",
        "export * from './test/helpers/http-backend-repo.ts';",
        "export { freePort } from './test/helpers/postgres.ts';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: helpersFile,
    packages: 'external',
    logLevel: 'warning',
  });
  return import(helpersFile);
}

/** 125 commits signed by alice with OpenPGP, then 125 by bob with SSH; returns the repo and its head. */
export function makePullRequestRepo(h, fullName, say) {
  const started = Date.now();
  const repo = h.makeSignedRepo(fullName);
  repo.commit('bench', 125, h.alice, 'alice-gpg');
  const head = repo.commit('bench', 125, h.bob, 'bob-ssh').at(-1);
  say(`repository: 250 signed commits made with git, gpg and ssh-keygen in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { repo, head };
}

/** The app's environment as a deployment sets it, against the fake GitHub on this machine. */
export function appEnvironment({ github, port, secret, cacheDir, sqlitePath, writeIntervalMs }) {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    APP_ID: String(github.appId),
    PRIVATE_KEY: github.privateKey,
    WEBHOOK_SECRET: secret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: 'http',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SIGNET_CACHE_DIR: cacheDir,
    SIGNET_SQLITE_PATH: sqlitePath,
    SIGNET_GITHUB_WRITE_INTERVAL_MS: String(writeIntervalMs),
  };
}
