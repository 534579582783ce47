/**
 * Starts the one HTTP server behind `npm start`: Probot's Server with the signet app at
 * Probot's webhook path when the GitHub App is configured, the GitLab webhook at
 * /gitlab/webhook when configured, the extra handlers (the operators' dashboard) and /healthz.
 * A GitLab-only deployment has no Probot at all: a plain HTTP server with the same handlers,
 * so no GitHub webhook route exists to be signed with a placeholder secret.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import Bottleneck from 'bottleneck';
import pino from 'pino';
import { Probot, ProbotOctokit, Server, type Logger as ProbotLogger } from 'probot';
import { GitCache } from '../forge/git-cache.ts';
import { createGitHubCaches } from '../forge/github-api.ts';
import { WriteSpacing } from '../forge/write-spacing.ts';
import { openStore, type SignetStore } from '../store/store.ts';
import { signetApp, type SignetAppOptions } from '../app/app.ts';
import { InstallationShares } from '../checks/installation-shares.ts';
import { VerdictMemo } from '../checks/verdict-memo.ts';
import type { CheckDependencies } from '../app/run-check.ts';
import type { HttpHandler } from '../forge/http-handler.ts';
import { GITLAB_WEBHOOK_PATH } from '../gitlab/handler.ts';
import { limitWebhookBodies } from './body-limit.ts';
import { retryAfterOnOutage } from './retry-after.ts';
import type { GitHubAppConfig, ServerConfig } from './config.ts';

export interface RunningServer {
  port: number;
  url: string;
  store: SignetStore;
  deps: CheckDependencies;
  /** The per-installation write lanes (tests read how many are held). */
  /** GitHub's per-installation write lanes (absent on a GitLab-only server). */
  writes?: WriteSpacing;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Use this store instead of opening one from the configuration. */
  store?: SignetStore;
  log?: pino.Logger;
  onOutcome?: SignetAppOptions['onOutcome'];
  /** Extra handlers built with the running dependencies (the GitLab bot). */
  extraHandlers?: (deps: CheckDependencies) => HttpHandler[] | Promise<HttpHandler[]>;
}

export async function startSignetServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? pino({ level: config.logLevel, base: { name: 'signet' } });
  const store = options.store ?? (await openStore({ DATABASE_URL: config.databaseUrl, SIGNET_SQLITE_PATH: config.sqlitePath }, process.cwd()));
  const deps: CheckDependencies = {
    store,
    gitCache: new GitCache({ root: config.cacheDir, timeoutMs: config.fetchTimeoutMs, maxObjectBytes: config.maxObjectBytes }),
    caches: createGitHubCaches(config.keyCacheTtlMs),
    log,
    instanceId: config.instanceId,
    leaseMs: config.leaseMs,
    checkTimeoutMs: config.checkTimeoutMs,
    maxCommits: config.maxCommits,
    now: () => new Date(),
    // Verdicts reused across checks and installations under the same trust (bounded; in memory;
    // SIGNET_MEMO_MAX_ENTRIES=0 turns it off).
    ...(config.memo.maxEntries > 0 ? { verdictMemo: new VerdictMemo(config.memo) } : {}),
    // At most two checks of one installation compute at once; the others queue behind it only.
    shares: new InstallationShares(config.checksPerInstallation),
  };

  const handlers: HttpHandler[] = [healthHandler(store), ...((await options.extraHandlers?.(deps)) ?? [])];
  const started = config.github
    ? await startProbot(config, config.github, { deps, handlers, log, ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}) })
    : await startPlain(config, handlers, log);
  // Installed before any request can arrive (start() resolves in the listen callback's tick).
  limitWebhookBodies(started.http, [...(config.github ? [config.webhookPath] : []), GITLAB_WEBHOOK_PATH]);
  // Probot answers an outage without Retry-After; GitLab's route sets its own (src/forge/webhook-answer.ts).
  if (config.github) retryAfterOnOutage(started.http, [config.webhookPath]);
  const address = started.http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    port,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    store,
    deps,
    ...(started.writes ? { writes: started.writes } : {}),
    async stop() {
      await started.stop();
      if (!options.store) await store.close();
    },
  };
}

interface Listening {
  http: HttpServer;
  stop(): Promise<void>;
  /** GitHub's per-installation write lanes; a GitLab-only server has none. */
  writes?: WriteSpacing;
}

async function startProbot(
  config: ServerConfig,
  github: GitHubAppConfig,
  app: { deps: CheckDependencies; handlers: HttpHandler[]; log: pino.Logger; onOutcome?: SignetAppOptions['onOutcome'] },
): Promise<Listening> {
  // GitHub asks for content-creating requests one at a time and a second apart per installation
  // token: signet spaces them in one lane per installation (src/forge/write-spacing.ts) and
  // waits out secondary limits there, per installation. Probot's own write queue is made a
  // pass-through (it would space them a second time), and its retry plugin leaves 429 to the
  // lanes (it would retry after 1, 4, 9 s whatever Retry-After says). Primary rate limits and
  // 5xx retries stay Probot's.
  const writes = new WriteSpacing({ intervalMs: config.writeIntervalMs });
  const passThrough = new Bottleneck.Group({ maxConcurrent: null, minTime: 0, timeout: 60_000 });
  const withWriteSpacing = (instanceOptions: Record<string, unknown>) => ({
    ...instanceOptions,
    throttle: { ...(instanceOptions.throttle as object | undefined), write: passThrough },
    retry: { ...(instanceOptions.retry as object | undefined), doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
  });
  const Octokit = (ProbotOctokit as unknown as { defaults: (f: typeof withWriteSpacing) => typeof ProbotOctokit }).defaults(withWriteSpacing);

  const probotLog = app.log as unknown as ProbotLogger;
  const server = new Server({
    Probot: Probot.defaults({
      appId: github.appId,
      privateKey: github.privateKey,
      secret: github.webhookSecret,
      baseUrl: config.baseUrl,
      Octokit,
      log: probotLog,
    }),
    port: config.port,
    host: config.host,
    webhookPath: config.webhookPath,
    log: probotLog,
    enableStaticFiles: false,
  });
  await server.load(signetApp({ deps: app.deps, handlers: app.handlers, writes, ...(app.onOutcome ? { onOutcome: app.onOutcome } : {}) }));
  const http = await server.start();
  return { http, stop: () => server.stop(), writes };
}

/** The GitLab-only server: the handlers in order, then 404; a handler's error is a 500 (logged, never sent). */
async function startPlain(config: ServerConfig, handlers: HttpHandler[], log: pino.Logger): Promise<Listening> {
  const http = createServer((req, res) => {
    void (async () => {
      try {
        for (const handler of handlers) if (await handler(req, res)) return;
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      } catch (error) {
        log.error({ err: error }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'internal error' }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  log.info(`Listening on http://${config.host}:${typeof address === 'object' && address ? address.port : config.port}`);
  return {
    http,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        http.close((error) => (error ? reject(error) : resolve()));
        http.closeAllConnections();
      }),
  };
}

function healthHandler(store: SignetStore): HttpHandler {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/healthz') return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', store: store.kind }));
    return true;
  };
}
