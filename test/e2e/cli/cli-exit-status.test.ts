import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { isTerminalSafe } from '../../../src/core/render/terminal-text.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { GpgHome } from '../../helpers/signing-keys.ts';

/**
 * The CLI's exit status follows the error's code (docs/architecture.md "Errors"): 2 for bad
 * flags, input and configuration, 3 for an outage (CI may retry), never 0 or 1 for either. The
 * CLI runs in-process from the sources; the forge is a local HTTP server that answers 502,
 * closes the socket, or refuses the token; the store is a PostgreSQL URL nobody listens on.
 */
async function signet(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const status = await main(argv, { stdout, stderr, stdin: new PassThrough(), env, cwd });
  return { status, stdout: out, stderr: err };
}

/** A port that was just free: nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('exit status by error code', () => {
  it('bad flags and bad input exit 2', async () => {
    expect((await signet(['verify', '--no-such-flag'])).status).toBe(2);
    const noSince = await signet(['audit', 'export']);
    expect([noSince.status, noSince.stderr]).toEqual([2, 'signet audit: --since DATE is required (e.g. --since 2026-01-01 or --since 7d)\n']);
  });

  it('an error line quoting attacker text is one inert line (terminalText)', async () => {
    const hostile = '\x1b]0;owned\x07\x1b[2J\nsignet audit: all good';
    const result = await signet(['audit', 'export', '--since', hostile]);
    expect(result.status).toBe(2);
    const lines = result.stderr.split('\n');
    expect(lines).toHaveLength(2); // one line and the final newline
    expect(lines[1]).toBe('');
    expect(isTerminalSafe(lines[0]!)).toBe(true);
    expect(lines[0]).toContain('\\x1b]0;owned\\x07\\x1b[2J\\nsignet audit: all good');
  });

  it('a store nobody answers for is an outage: exit 3, one line, no password', async () => {
    const port = await closedPort();
    const result = await signet(['audit', 'export', '--since', '7d', '--database', `postgres://signet:s3cret-pw@127.0.0.1:${port}/signet`]);
    expect(result.stderr).toMatch(
      new RegExp(`^signet audit: the postgres store is unavailable: ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\n$`),
    );
    expect(result.stderr).not.toContain('s3cret-pw');
    expect(result.status).toBe(3);
  });
});

describe('signet jobs run against a forge that is down, or refuses', () => {
  const dir = tempDir('cli-exit');
  let forge: Server;
  let mode: 'bad-gateway' | 'close' | 'unauthorized' = 'bad-gateway';
  let requests = 0;

  beforeAll(async () => {
    forge = createServer((req, res) => {
      requests++;
      if (mode === 'close') return void req.socket.destroy();
      const status = mode === 'bad-gateway' ? 502 : 401;
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: mode === 'bad-gateway' ? 'Bad Gateway' : 'Bad credentials' }));
    });
    await new Promise<void>((resolve) => forge.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
    // A registry key that expires in 10 days: the job has an issue to file, so it calls the forge.
    const gpg = new GpgHome(join(dir.path, 'gnupg'));
    gpg.gpg(['--quick-gen-key', 'Dana <dana@example.com>', 'ed25519', 'sign', '10d']);
    mkdirSync(join(dir.path, 'keys'));
    writeFileSync(join(dir.path, 'keys', 'registry.asc'), gpg.gpg(['--armor', '--export']));
    git(dir.path, ['init', '-q', join(dir.path, 'repo')]);
    writeFileSync(
      join(dir.path, 'jobs.yml'),
      `state_dir: state
repositories:
  - name: github:acme/widgets
    path: repo
    keyrings: [keys/registry.asc]
    forge: { type: github, project: acme/widgets, api_url: "${url}", token_env: GH_TOKEN }
jobs:
  key-expiry: { schedule: "0 6 * * *", within_days: 30 }
`,
    );
  }, 60_000);
  afterAll(async () => {
    forge.closeAllConnections();
    await new Promise<void>((resolve) => forge.close(() => resolve()));
    dir.remove();
  });

  const run = (format: 'text' | 'json' = 'text') =>
    signet(['jobs', 'run', 'key-expiry', '--config', join(dir.path, 'jobs.yml'), '--format', format], { GH_TOKEN: 'ghs_secret_token' }, dir.path);

  it('a forge answering 502 is an outage: exit 3, "the next run tries again", the code in the JSON outcome', async () => {
    mode = 'bad-gateway';
    const before = requests;
    const result = await run('json');
    expect(result.stderr).toMatch(/^signet jobs: github:acme\/widgets: the forge is unavailable, the next run tries again: .*HTTP 502/);
    expect(result.status).toBe(3);
    expect(requests - before).toBe(3); // retried twice, then given up
    expect((JSON.parse(result.stdout) as { repositories: Array<{ outcome: string; code: string }> }).repositories).toEqual([
      expect.objectContaining({ outcome: 'error', code: 'FORGE_OUTAGE' }),
    ]);
    expect(result.stderr + result.stdout).not.toContain('ghs_secret_token');
  }, 30_000);

  it('a forge that closes the socket is an outage too: exit 3', async () => {
    mode = 'close';
    const result = await run();
    expect(result.stderr).toMatch(/the forge is unavailable, the next run tries again/);
    expect(result.status).toBe(3);
  }, 30_000);

  it('a forge that refuses the token is not an outage: exit 2, "check the token"', async () => {
    mode = 'unauthorized';
    const result = await run();
    expect(result.stderr).toMatch(/^signet jobs: github:acme\/widgets: the forge refused the request, check the token and forge settings: .*HTTP 401/);
    expect(result.status).toBe(2);
  }, 30_000);
});
