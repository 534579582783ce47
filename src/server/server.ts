/**
 * Starts the one HTTP server behind `npm start`: Probot's Server with the signet app at
 * Probot's webhook path, the GitLab webhook at /gitlab/webhook when configured, and /healthz.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Bottleneck from 'bottleneck';
import pino from 'pino';
import { Probot, ProbotOctokit, Server, type Logger as ProbotLogger } from 'probot';
import { GitCache } from '../forge/git-cache.ts';
import { createGitHubCaches } from '../forge/github-api.ts';
import { WriteSpacing } from '../forge/write-spacing.ts';
import { openStore, type SignetStore } from '../store/store.ts';
import { signetApp, type SignetAppOptions } from '../app/app.ts';
import type { CheckDependencies } from '../app/run-check.ts';
import type { HttpHandler } from '../forge/http-handler.ts';
import { GITLAB_WEBHOOK_PATH } from '../gitlab/handler.ts';
import { limitWebhookBodies } from './body-limit.ts';
import type { ServerConfig } from './config.ts';

export interface RunningServer {
  port: number;
  url: string;
  store: SignetStore;
  deps: CheckDependencies;
  /** The per-installation write lanes (tests read how many are held). */
  writes: WriteSpacing;
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
    gitCache: new GitCache({ root: config.cacheDir, timeoutMs: config.fetchTimeoutMs }),
    caches: createGitHubCaches(config.keyCacheTtlMs),
    log,
    instanceId: config.instanceId,
    leaseMs: config.leaseMs,
    checkTimeoutMs: config.checkTimeoutMs,
    maxCommits: config.maxCommits,
    now: () => new Date(),
  };

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

  const probotLog = log as unknown as ProbotLogger;
  const server = new Server({
    Probot: Probot.defaults({
      appId: config.appId,
      privateKey: config.privateKey,
      secret: config.webhookSecret,
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
  const handlers: HttpHandler[] = [healthHandler(store), ...((await options.extraHandlers?.(deps)) ?? [])];
  await server.load(signetApp({ deps, handlers, writes, ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}) }));
  const http = await server.start();
  // Installed before any request can arrive (start() resolves in the listen callback's tick).
  limitWebhookBodies(http, [config.webhookPath, GITLAB_WEBHOOK_PATH]);
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    port,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    store,
    deps,
    writes,
    async stop() {
      await server.stop();
      if (!options.store) await store.close();
    },
  };
}

function healthHandler(store: SignetStore): HttpHandler {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/healthz') return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', store: store.kind }));
    return true;
  };
}
