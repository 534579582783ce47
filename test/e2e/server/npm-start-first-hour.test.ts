/**
 * A newcomer's first hour (issue 15): a fresh clone of this checkout's HEAD, the README's
 * set-up commands for the app exactly as the README states them, and `npm start` with no
 * settings. What a person sees is asserted: the process stays up, its first lines say where to
 * go, the setup page offers the manifest built from app.yml with this server's webhook URL, and
 * Ctrl-C stops it cleanly.
 *
 * `npm ci` is the real one, run against the npm cache with npm's `offline` setting (the
 * environment variable npm_config_offline, so the command text stays the README's): nothing is
 * copied or linked from this checkout's node_modules. It took 112 s and 187 s on this
 * machine (2 shared cores, under load). Only committed files are tested: commit first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../../helpers/app-process.ts';
import { freePort } from '../../helpers/postgres.ts';
import { readSetupForm, withoutForgeSettings } from '../../helpers/setup-page.ts';

const NPM_CI_BUDGET_MS = 10 * 60_000;

/**
 * The README's set-up block (after the prerequisites): `npm ci && npm run demo   # …` then
 * `npm test   # …` → [['npm ci', 'npm run demo'], ['npm test']]. The second is this suite
 * itself (CI runs it on a clean checkout through .ci/run); the test runs the first.
 */
function readmeSetupCommands(readme: string): string[][] {
  const block = /\nThen:\n\n```sh\n([\s\S]*?)\n```/.exec(readme);
  if (!block) throw new Error("README.md: no sh block after 'Then:' (the two set-up commands)");
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean)
    .map((line) =>
      line
        .split('&&')
        .map((c) => c.trim())
        .filter(Boolean),
    );
}

/** The app section's commands: `npm ci && npm start   # comment` → ['npm ci', 'npm start']. */
function readmeAppCommands(readme: string): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('The GitHub App and the GitLab bot'));
  const block = section && /```sh\n([^\n]*)\n/.exec(section);
  if (!block) throw new Error("README.md: no sh block in '## The GitHub App and the GitLab bot'");
  return block[1]!
    .replace(/#.*$/, '')
    .split('&&')
    .map((c) => c.trim())
    .filter(Boolean);
}

describe('a fresh clone: the README set-up commands, then npm start with no settings', { timeout: NPM_CI_BUDGET_MS + 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'signet-first-hour-'));
  const clone = join(dir, 'signet');
  const env = withoutForgeSettings(process.env);
  let commands: string[];
  let setup: string[][];
  let app: AppProcess;
  let origin: string;
  let setupUrl: string;

  beforeAll(async () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '-q', process.cwd(), clone]);
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: clone, encoding: 'utf8' }).trim()).toBe(head);
    const readme = readFileSync(join(clone, 'README.md'), 'utf8');
    commands = readmeAppCommands(readme);
    expect(commands).toEqual(['npm ci', 'npm start']);
    setup = readmeSetupCommands(readme);
    expect(setup).toEqual([['npm ci', 'npm run demo'], ['npm test']]);

    const started = Date.now();
    const install = spawnSync('sh', ['-c', commands[0]!], {
      cwd: clone,
      env: { ...env, npm_config_offline: 'true', npm_config_fund: 'false', npm_config_audit: 'false' },
      encoding: 'utf8',
      timeout: NPM_CI_BUDGET_MS,
    });
    if (install.status !== 0) throw new Error(`'${commands[0]}' failed (${install.status ?? install.signal}):\n${install.stdout}\n${install.stderr}`);
    console.log(`npm ci --offline in a fresh clone: ${((Date.now() - started) / 1000).toFixed(1)} s (2 shared cores, under load)`);
    expect(existsSync(join(clone, 'dist', 'app.mjs'))).toBe(true);

    const port = await freePort();
    app = startAppProcess('sh', ['-c', commands[1]!], { cwd: clone, env: { ...env, HOST: '127.0.0.1', PORT: String(port) } });
    await app.waitForLine(/^signet: stop with Ctrl-C\.$/);
    setupUrl = (await app.waitForLine(/^signet: to create the GitHub App from app\.yml, open http:\/\/\S+$/)).split(' open ')[1]!;
    origin = `http://127.0.0.1:${port}`;
  }, NPM_CI_BUDGET_MS + 60_000);

  afterAll(async () => {
    await app?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the README's first set-up command on the fresh clone: the demo verifies and judges a real repository", () => {
    // `npm ci` ran above (the same first half of both README blocks); now the rest of the first.
    const demo = spawnSync('sh', ['-c', setup[0]!.slice(1).join(' && ')], { cwd: clone, env, encoding: 'utf8', timeout: 300_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('$ signet verify --all');
    expect(demo.stdout).toMatch(/^[0-9a-f]{10} +G +\S+/m);
    expect(demo.stdout).toMatch(/^[0-9a-f]{10} +N +-/m);
    expect(demo.stdout).toContain('$ signet policy check');
    expect(demo.stdout).toContain('(exit 1: the policy rejects this update)');
  });

  it('prints where to go first, and stays up', async () => {
    const lines = app
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('signet'));
    expect(lines.slice(0, 3)).toEqual([
      'signet: nothing is configured (no GitHub App, no GitLab bot settings), so no webhook is served yet.',
      `signet: to create the GitHub App from app.yml, open ${setupUrl}`,
      'signet: or set the GitHub App or GitLab bot variables by hand and start again: docs/app.md.',
    ]);
    expect(setupUrl).toMatch(new RegExp(`^${origin}/setup\\?token=[A-Za-z0-9_-]{32}$`));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(app.child.exitCode).toBeNull();
    expect(app.stderr()).not.toMatch(/APP_ID must be set/);
  });

  it('serves the setup page: the manifest from app.yml with this server as webhook and redirect', async () => {
    const response = await fetch(setupUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const { action, manifest } = readSetupForm(await response.text());
    expect(action).toMatch(/^https:\/\/github\.com\/settings\/apps\/new\?state=[A-Za-z0-9_-]{32}$/);
    const appYml = parse(readFileSync(join(clone, 'app.yml'), 'utf8')) as Record<string, unknown>;
    expect(manifest.hook_attributes).toEqual({ url: `${origin}/api/github/webhooks`, active: true });
    expect(manifest.redirect_url).toBe(`${origin}/setup/github/done`);
    expect(manifest.default_permissions).toEqual(appYml.default_permissions);
    expect(manifest.default_events).toEqual(appYml.default_events);
    expect(manifest.name).toBe(appYml.name);
    expect(manifest.public).toBe(false);
  });

  it('offers the page only with the token printed on the console', async () => {
    for (const url of [`${origin}/setup`, `${origin}/setup?token=wrong`]) {
      const response = await fetch(url);
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('manifest');
    }
    const home = await fetch(`${origin}/`);
    expect(home.status).toBe(503);
    expect(await home.text()).toMatch(/setup mode: nothing is configured/);
    // No webhook route in setup mode.
    expect((await fetch(`${origin}/api/github/webhooks`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('stops cleanly on Ctrl-C and has written nothing', async () => {
    // Ctrl-C reaches the whole process group, as in a terminal: the server stops its setup and
    // exits 0; npm then re-raises SIGINT on itself (npm's own behaviour), hence that signal.
    const code = await app.stop('SIGINT');
    expect(app.stdout()).toContain('signet: setup stopped.');
    expect(code === 0 || app.exitSignal() === 'SIGINT').toBe(true);
    expect(existsSync(join(clone, '.env'))).toBe(false);
  });
});
