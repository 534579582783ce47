/**
 * `npm start`: the GitHub App (and the GitLab bot when GITLAB_* are set) on PORT. Settings
 * errors are one line on stderr and exit status 2, as everywhere in signet; a store that does
 * not answer at start exits 3 (docs/architecture.md "Errors").
 */
import { errorKindOf, SignetError } from '../core/errors.ts';
import { terminalText } from '../core/render/terminal-text.ts';
import { readServerConfig } from './config.ts';
import { startSignetServer } from './server.ts';
import { gitLabHandlers } from '../gitlab/handler.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = readServerConfig(process.env, process.cwd());
  } catch (error) {
    process.stderr.write(`signet serve: ${error instanceof SignetError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const gitlab = config.gitlab;
  const server = await startSignetServer(config, gitlab ? { extraHandlers: (deps) => gitLabHandlers(gitlab, deps) } : {});
  const shutdown = (signal: string) => {
    server.deps.log.info({ signal }, 'stopping');
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`signet serve: ${terminalText((error as Error)?.message ?? String(error))}\n`);
  // The store unavailable at start is an outage (3: a supervisor may retry); anything else 1.
  process.exit(errorKindOf(error) === 'outage' ? 3 : 1);
});
