/**
 * What `npm start` serves when nothing is configured (no GitHub App and no GitLab setting):
 * one page that creates the GitHub App from app.yml through GitHub's manifest flow, and says
 * which settings to set by hand for GitHub or GitLab (docs/app.md). No webhook is accepted
 * in this mode.
 *
 * Who can reach the port is not trusted (HOST may be 0.0.0.0; a web page can aim a browser at
 * localhost, or rebind its DNS name to 127.0.0.1). So:
 * - the page needs the one-time token printed on the server's stdout (the person at the
 *   console has it; a network peer or a hostile page does not), compared in constant time;
 * - GitHub's redirect back must carry the random `state` that only that page held, so a link
 *   with someone else's manifest code cannot make this server adopt their App;
 * - the first successful exchange ends the setup (later requests get 410), `.env` is created
 *   with mode 0600 and never overwritten, and no page or log line carries a secret.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { sameSecret } from '../core/same-secret.ts';
import { escapeXml as html } from '../report/render-svg.ts';
import { convertManifestCode, createAppUrl, githubAppManifest, SETUP_DONE_PATH, SETUP_PATH, writeAppEnvFile } from './github-manifest.ts';

export interface SetupOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  host: string;
  port: number;
  webhookPath: string;
  /** GitHub's REST base URL (GHE_HOST aware), for the code exchange. */
  apiBaseUrl: string;
  /** Plain lines for the person at the console (stdout). */
  say: (line: string) => void;
}

export interface SetupServer {
  url: string;
  /** The address to open, with the one-time token. */
  setupUrl: string;
  stop(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, formAction = "'none'"): void {
  res.writeHead(status, {
    'content-type': status === 200 ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // The token is in this page's address: never send it on as a Referer.
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'`,
  });
  res.end(body);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code{background:#f2f2f2;padding:0 .2em}button{font-size:1rem;padding:.4rem 1rem}</style>
</head><body>
${body}
</body></html>
`;
}

function settingsText(): string {
  return `<h2>Or set it up by hand</h2>
<p>Stop this server, set the variables below (in the environment or in <code>.env</code>), and run <code>npm start</code> again.
<code>docs/app.md</code> in signet's repository walks through each step.</p>
<ul>
<li>GitHub App: <code>APP_ID</code>, <code>PRIVATE_KEY_PATH</code> (or <code>PRIVATE_KEY</code>), <code>WEBHOOK_SECRET</code>; the App's permissions and events are those of <code>app.yml</code>.</li>
<li>GitLab bot: <code>GITLAB_URL</code>, <code>GITLAB_TOKEN</code>, <code>GITLAB_WEBHOOK_SECRET</code>; a project or system hook to <code>/gitlab/webhook</code>.</li>
</ul>`;
}

/** Whether anything is at `path`, a dangling symlink included (existsSync follows links). */
function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export async function startSetupServer(options: SetupOptions): Promise<SetupServer> {
  const token = randomBytes(24).toString('base64url');
  const state = randomBytes(24).toString('base64url');
  // Set once listening (PORT=0 picks a free port): the URLs GitHub and the person are given.
  let origin = '';
  let done = false;
  let exchanging = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://setup');
    if (req.method !== 'GET') return send(res, 405, 'setup mode: only GET\n');
    if (url.pathname === '/' || url.pathname === '/healthz')
      return send(
        res,
        503,
        `signet is in setup mode: nothing is configured. Open the address printed on the server's console (${origin}${SETUP_PATH}?token=…).\n`,
      );
    if (done) return send(res, 410, 'signet: the GitHub App was created and its settings written to .env; restart the server (npm start).\n');
    if (url.pathname === SETUP_PATH) {
      if (!sameSecret(url.searchParams.get('token') ?? '', token))
        return send(res, 401, "signet setup: open the address with the token printed on the server's console\n");
      const manifest = githubAppManifest(readFileSync(join(options.cwd, 'app.yml'), 'utf8'), {
        origin,
        webhookPath: options.webhookPath,
        ...(options.env.WEBHOOK_PROXY_URL ? { webhookProxyUrl: options.env.WEBHOOK_PROXY_URL } : {}),
      });
      const action = createAppUrl(options.env, state);
      const hook = (manifest.hook_attributes as { url: string }).url;
      const body = `<h1>signet: set up</h1>
<p>Nothing is configured yet. Create signet's GitHub App from <code>app.yml</code>: GitHub shows you the App with its permissions and events, you choose where to create it, and GitHub sends you back here. Its id, private key and webhook secret are then written to <code>.env</code> (readable by you only); restart <code>npm start</code> and install the App on a repository.</p>
<p>GitHub will send webhooks to <code>${html(hook)}</code>${
        options.env.WEBHOOK_PROXY_URL
          ? ' (your WEBHOOK_PROXY_URL; forward it to this server, see docs/app.md)'
          : '. GitHub must be able to reach it: on a laptop, stop here, set WEBHOOK_PROXY_URL to a smee.io channel and start again (docs/app.md).'
      }</p>
<form action="${html(action)}" method="post" data-form="manifest">
<input type="hidden" name="manifest" value="${html(JSON.stringify(manifest))}">
<button type="submit">Create the GitHub App on ${html(new URL(action).host)}</button>
</form>
${settingsText()}`;
      return send(res, 200, page('signet: set up', body), new URL(action).origin);
    }
    if (url.pathname === SETUP_DONE_PATH) {
      if (!sameSecret(url.searchParams.get('state') ?? '', state))
        return send(res, 403, 'signet setup: this answer does not come from the setup page this server showed; start again from it\n');
      if (exchanging) return send(res, 409, 'signet setup: the App is being created; reload in a moment\n');
      // Checked before the exchange, not only by writeAppEnvFile's exclusive create: GitHub
      // gives the private key once, so exchanging the code with nowhere to write it would leave
      // an App whose key is lost. The code stays valid for an hour: move .env, then reload.
      if (entryExists(join(options.cwd, '.env')))
        return send(res, 409, 'signet setup: .env already exists and is never overwritten; move it away and reload this address\n');
      exchanging = true;
      try {
        const app = await convertManifestCode(options.apiBaseUrl, url.searchParams.get('code') ?? '', AbortSignal.timeout(30_000));
        writeAppEnvFile(join(options.cwd, '.env'), app, options.env);
        done = true;
        options.say(`signet: created the GitHub App ${app.slug} (id ${app.id}); its settings are in .env. Install it, then restart npm start.`);
        const install = `${app.htmlUrl}/installations/new`;
        return send(
          res,
          200,
          page(
            'signet: App created',
            `<h1>The GitHub App ${html(app.slug)} is created</h1>
<p>Its id, private key and webhook secret are in <code>.env</code> (mode 0600; keep it out of version control).</p>
<ol><li>Stop this server (Ctrl-C) and run <code>npm start</code> again: it reads <code>.env</code>.</li>
<li><a href="${html(install)}">Install the App on a repository</a>, push a commit: the check run <code>signet/signatures</code> appears on it.</li></ol>`,
          ),
        );
      } catch (error) {
        return send(res, 502, `signet setup: ${error instanceof SignetError ? error.message : 'the exchange with GitHub failed'}\n`);
      } finally {
        exchanging = false;
      }
    }
    return send(res, 404, 'not found (signet is in setup mode)\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'signet setup: internal error\n');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new SignetError('CONFIG_INVALID', error.code === 'EADDRINUSE' ? `port ${options.port} is in use; set PORT` : `cannot listen: ${error.message}`)),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  origin = url;
  return {
    url,
    setupUrl: `${url}${SETUP_PATH}?token=${token}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
