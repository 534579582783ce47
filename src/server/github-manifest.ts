/**
 * GitHub's manifest flow for `npm start`'s setup page (docs/app.md "Creating the GitHub App"):
 * the manifest is app.yml with the webhook and redirect URLs of this server; GitHub answers
 * the person's "Create" with a one-time code, which this server exchanges for the App's id,
 * private key and webhook secret and writes to `.env`.
 *
 * Written here rather than taken from Probot's setup app (probot/lib/apps/setup.js), which
 * builds the URLs from the request's Host header, lets app.yml's example webhook URL win,
 * accepts any code without a state (one link makes the server adopt someone else's App),
 * offers an unauthenticated POST that writes credentials to .env, overwrites .env, and
 * downloads smee-client from npm at run time.
 */
import { writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SignetError } from '../core/errors.ts';

/** Where GitHub is and where this server is seen from (never from a request's headers). */
export interface ManifestSite {
  /** e.g. http://localhost:3000: the person's browser is redirected back here. */
  origin: string;
  webhookPath: string;
  /** A tunnel (smee.io) that forwards GitHub's deliveries to a laptop; else origin + webhookPath. */
  webhookProxyUrl?: string;
}

/** The manifest GitHub receives: app.yml's name, permissions and events; URLs of this server. */
export function githubAppManifest(appYml: string, site: ManifestSite): Record<string, unknown> {
  const declared = parse(appYml) as Record<string, unknown> | null;
  if (!declared || typeof declared !== 'object' || !declared.default_permissions || !Array.isArray(declared.default_events))
    throw new SignetError('CONFIG_INVALID', 'app.yml must declare default_permissions and default_events');
  const hook = (declared.hook_attributes ?? {}) as Record<string, unknown>;
  return {
    ...declared,
    hook_attributes: { ...hook, url: site.webhookProxyUrl || `${site.origin}${site.webhookPath}`, active: true },
    redirect_url: `${site.origin}${SETUP_DONE_PATH}`,
    public: declared.public === true,
  };
}

export const SETUP_PATH = '/setup';
export const SETUP_DONE_PATH = '/setup/github/done';

/** The page on GitHub that takes the manifest (an organization's when GH_ORG is set). */
export function createAppUrl(env: NodeJS.ProcessEnv, state: string): string {
  const host = env.GHE_HOST || 'github.com';
  const org = env.GH_ORG ? `/organizations/${encodeURIComponent(env.GH_ORG)}` : '';
  return `${env.GHE_PROTOCOL || 'https'}://${host}${org}/settings/apps/new?state=${encodeURIComponent(state)}`;
}

export interface CreatedApp {
  id: number;
  slug: string;
  htmlUrl: string;
  pem: string;
  webhookSecret: string;
}

/** `POST /app-manifests/{code}/conversions`: the code is GitHub's, one-time, valid one hour. */
export async function convertManifestCode(apiBaseUrl: string, code: string, signal?: AbortSignal): Promise<CreatedApp> {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(code)) throw new SignetError('CONFIG_INVALID', 'the code GitHub sent back is not a manifest code');
  const response = await fetch(`${apiBaseUrl}/app-manifests/${code}/conversions`, {
    method: 'POST',
    headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'signet-setup' },
    redirect: 'error',
    ...(signal ? { signal } : {}),
  });
  if (response.status !== 201)
    throw new SignetError('CONFIG_INVALID', `GitHub refused the manifest code (HTTP ${response.status}); start again from the setup page`);
  const data = (await response.json()) as Record<string, unknown>;
  const { id, slug, html_url: htmlUrl, pem, webhook_secret: webhookSecret } = data;
  // Each value goes into .env: reject anything that could end a line or a quoted value there.
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) throw new SignetError('CONFIG_INVALID', 'GitHub answered without an App id');
  if (typeof pem !== 'string' || !/^-----BEGIN [A-Z ]+-----\r?\n[A-Za-z0-9+/=\r\n]+-----END [A-Z ]+-----\s*$/.test(pem))
    throw new SignetError('CONFIG_INVALID', 'GitHub answered without a PEM private key');
  if (typeof webhookSecret !== 'string' || !/^[A-Za-z0-9._~+/=-]{8,256}$/.test(webhookSecret))
    throw new SignetError('CONFIG_INVALID', 'GitHub answered without a usable webhook secret');
  if (typeof htmlUrl !== 'string' || !/^https?:\/\/[^\s"'<>]+$/.test(htmlUrl))
    throw new SignetError('CONFIG_INVALID', 'GitHub answered without the App address');
  // The slug is printed on the console: a name with control characters (a terminal escape) is not used.
  return { id, slug: typeof slug === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(slug) ? slug : String(id), htmlUrl, pem, webhookSecret };
}

/**
 * Writes the App's settings to `path` (.env), readable by the owner only, and never over an
 * existing file: a second setup, or a race with one, cannot replace settings already made.
 */
export function writeAppEnvFile(path: string, app: CreatedApp, env: NodeJS.ProcessEnv): void {
  const lines = [
    "# Written by signet's setup page (npm start with no settings). Keep this file secret.",
    `APP_ID=${app.id}`,
    `WEBHOOK_SECRET=${app.webhookSecret}`,
    `PRIVATE_KEY="${app.pem.trim().replace(/\r?\n/g, '\\n')}"`,
    ...(env.WEBHOOK_PROXY_URL && /^https:\/\/[^\s"'\\]+$/.test(env.WEBHOOK_PROXY_URL) ? [`WEBHOOK_PROXY_URL=${env.WEBHOOK_PROXY_URL}`] : []),
  ];
  try {
    writeFileSync(path, `${lines.join('\n')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SignetError('CONFIG_INVALID', code === 'EEXIST' ? `${path} already exists; it was left unchanged` : `cannot write ${path}: ${code ?? 'error'}`);
  }
}
