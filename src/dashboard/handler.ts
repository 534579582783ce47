/**
 * The dashboard as a request handler the app mounts on its HTTP server (Probot's
 * `addHandler`, or an Express-style router through `dashboardMiddleware`). Access is for the
 * app's operators only: a bearer token, or HTTP Basic with the configured user and the token as
 * password (so a browser asks for it). Without a token configured the dashboard answers 503:
 * it fails closed rather than open.
 */
import { sameSecret } from '../core/same-secret.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorKindOf } from '../core/errors.ts';
import { RETRY_AFTER_SECONDS } from '../forge/webhook-answer.ts';
import { renderCoverageSvg } from '../report/render-svg.ts';
import { slug } from '../jobs/ports.ts';
import { renderDashboard } from './render.ts';
import type { DashboardView } from './view.ts';

export interface DashboardOptions {
  /** Where it is mounted, e.g. `/signet` (no trailing slash). */
  basePath: string;
  /** The operators' token; undefined or empty: the dashboard is disabled. */
  token: string | undefined;
  /** The Basic-auth user name; default `signet`. */
  user?: string;
  load: () => Promise<DashboardView>;
}

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function authorized(header: string | undefined, token: string, user: string): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') return sameSecret(value, token);
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    // Evaluate both: no early exit that tells which half was wrong.
    const userOk = sameSecret(decoded.slice(0, colon), user);
    const tokenOk = sameSecret(decoded.slice(colon + 1), token);
    return userOk && tokenOk;
  }
  return false;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    // No scripts at all; inline styles only.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    ...headers,
  });
  res.end(body);
}

export function dashboardHandler(options: DashboardOptions): DashboardHandler {
  const base = options.basePath.replace(/\/+$/, '');
  const user = options.user ?? 'signet';
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (path !== base && !path.startsWith(`${base}/`)) return false;
    if (!options.token) {
      send(res, 503, 'text/plain; charset=utf-8', 'signet dashboard: disabled (no operator token configured)\n');
      return true;
    }
    if (!authorized(req.headers.authorization, options.token, user)) {
      send(res, 401, 'text/plain; charset=utf-8', 'signet dashboard: operators only\n', {
        'www-authenticate': 'Basic realm="signet dashboard", charset="UTF-8"',
      });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return true;
    }
    try {
      const rest = path.slice(base.length);
      if (rest === '' || rest === '/') {
        const view = await options.load();
        send(res, 200, 'text/html; charset=utf-8', renderDashboard(view, { svg: (name) => `${base}/coverage/${slug(name)}.svg` }));
        return true;
      }
      const chart = /^\/coverage\/([A-Za-z0-9._-]+)\.svg$/.exec(rest);
      if (chart) {
        const view = await options.load();
        const repository = view.repositories.find((r) => slug(r.name) === chart[1]);
        if (repository?.report) {
          send(res, 200, 'image/svg+xml; charset=utf-8', renderCoverageSvg(repository.report));
          return true;
        }
      }
      if (rest === '/view.json') {
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify(await options.load()));
        return true;
      }
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    } catch (error) {
      // The store or the jobs' state unavailable is an outage: 503, try again (docs/architecture.md "Errors").
      const outage = errorKindOf(error) === 'outage';
      send(
        res,
        outage ? 503 : 500,
        'text/plain; charset=utf-8',
        `signet dashboard: ${(error as Error).message.split('\n')[0]}\n`,
        outage ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {},
      );
    }
    return true;
  };
}

/** The same handler for an Express-style router (Probot's `getRouter`): unhandled paths go on. */
export function dashboardMiddleware(options: DashboardOptions): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const handle = dashboardHandler(options);
  return (req, res, next) => {
    handle(req, res).then((handled) => (handled ? undefined : next()), next);
  };
}
