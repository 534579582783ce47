/**
 * `signet serve`: runs the app server (dist/app.mjs, what `npm start` runs) in this process.
 * The server is loaded by URL at run time, so the CLI bundle does not carry Probot, the SQL
 * drivers or their native addons.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliIO } from '../io.ts';

export async function runServe(args: string[], io: CliIO): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(
      'usage: signet serve\n\nRuns the GitHub App (when APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH and WEBHOOK_SECRET are set) and the GitLab bot (when GITLAB_URL,\nGITLAB_TOKEN and GITLAB_WEBHOOK_SECRET are set); with neither, a setup page. Also reads .env in the working directory.\nSettings come from the environment: APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, PORT, HOST,\nGHE_HOST, GHE_PROTOCOL, DATABASE_URL, SIGNET_CACHE_DIR; see docs/app.md.\n',
    );
    return 0;
  }
  if (args.length > 0) {
    io.stderr.write(`signet serve: unexpected argument '${args[0]}' (settings come from the environment; see 'signet serve --help')\n`);
    return 2;
  }
  // dist/app.mjs, seen from dist/signet.mjs or from one of its chunks in dist/chunks/.
  const entry = [new URL('./app.mjs', import.meta.url), new URL('../app.mjs', import.meta.url)].find((url) => existsSync(fileURLToPath(url)));
  if (!entry) {
    io.stderr.write("signet serve: dist/app.mjs is missing; run 'npm ci' or 'npm run build' first\n");
    return 2;
  }
  await import(entry.href);
  // The server runs until a signal stops it (dist/app.mjs exits the process then).
  return new Promise<number>(() => {});
}
