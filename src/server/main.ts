/**
 * `npm start`: the GitHub App and/or the GitLab bot on PORT, each when its settings are there,
 * with the operators' dashboard under /signet/ when the jobs configuration has a token. With
 * no setting at all, the setup page (src/server/setup-page.ts) instead. Settings come from the
 * environment and from `.env` in the working directory (what the setup page writes; a variable
 * already set wins). Settings errors are one line on stderr and exit status 2, as everywhere
 * in signet.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorKindOf, SignetError } from '../core/errors.ts';
import { terminalText } from '../core/render/terminal-text.ts';
import { nothingConfigured, readServerConfig } from './config.ts';
import { startSignetServer } from './server.ts';
import { startSetupServer } from './setup-page.ts';
import { mountOperatorDashboard, type MountedDashboard } from './operator-dashboard.ts';
import { gitLabHandlers } from '../gitlab/handler.ts';

function fail(error: unknown): never {
  process.stderr.write(`signet serve: ${terminalText(error instanceof SignetError ? error.message : String((error as Error)?.message ?? error))}\n`);
  process.exit(2);
}

function onSignal(stop: (signal: string) => Promise<void>): void {
  const shutdown = (signal: string) => {
    stop(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

async function setupMode(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const port = Number(process.env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(new SignetError('CONFIG_INVALID', `PORT must be a port number, not '${process.env.PORT}'`));
  const host = process.env.HOST || 'localhost';
  const apiBaseUrl = process.env.GHE_HOST ? `${process.env.GHE_PROTOCOL || 'https'}://${process.env.GHE_HOST}/api/v3` : 'https://api.github.com';
  let setup;
  try {
    setup = await startSetupServer({
      env: process.env,
      cwd: process.cwd(),
      host,
      port,
      webhookPath: process.env.WEBHOOK_PATH || '/api/github/webhooks',
      apiBaseUrl,
      say,
    });
  } catch (error) {
    fail(error);
  }
  // One write: a reader of the first lines sees them all at once.
  process.stdout.write(
    [
      'signet: nothing is configured (no GitHub App, no GitLab bot settings), so no webhook is served yet.',
      `signet: to create the GitHub App from app.yml, open ${setup.setupUrl}`,
      'signet: or set the GitHub App or GitLab bot variables by hand and start again: docs/app.md.',
      'signet: stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  onSignal(async () => {
    await setup.stop();
    say('signet: setup stopped.');
  });
}

async function main(): Promise<void> {
  const envFile = join(process.cwd(), '.env');
  if (existsSync(envFile)) {
    try {
      process.loadEnvFile(envFile);
    } catch (error) {
      fail(new SignetError('CONFIG_INVALID', `cannot read ${envFile}: ${(error as Error).message.split('\n')[0]}`));
    }
  }
  if (nothingConfigured(process.env)) return setupMode();
  let config;
  try {
    config = readServerConfig(process.env, process.cwd());
  } catch (error) {
    fail(error);
  }
  const gitlab = config.gitlab;
  let dashboard: MountedDashboard | undefined;
  const server = await startSignetServer(config, {
    extraHandlers: (deps) => {
      dashboard = mountOperatorDashboard(process.env, deps.store, config.instanceId, deps.log);
      return [...(gitlab ? gitLabHandlers(gitlab, deps) : []), ...dashboard.handlers];
    },
  });
  server.deps.log.info(
    { github: config.github ? config.webhookPath : 'not configured', gitlab: gitlab ? '/gitlab/webhook' : 'not configured', url: server.url },
    'signet is serving',
  );
  onSignal(async (signal) => {
    server.deps.log.info({ signal }, 'stopping');
    await dashboard?.stop();
    await server.stop();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`signet serve: ${terminalText((error as Error)?.message ?? String(error))}\n`);
  // The store unavailable at start is an outage (3: a supervisor may retry); anything else 1.
  process.exit(errorKindOf(error) === 'outage' ? 3 : 1);
});
