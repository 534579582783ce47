/**
 * The app's cache of policy and key files (conditional reads with ETags) stays within its
 * bounds however many distinct files a repository makes it read: a real bare repository with
 * many files, served by the local GitHub stand-in over HTTP, read through the GitHub client.
 * Before the bound it was a Map that kept every (repository, branch, path) for the life of the
 * process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubCaches, gitHubFileReader, type GitHubRequest } from '../../../src/forge/github-api.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import { git, tempDir } from '../../helpers/git.ts';

const FILES = 200;
const FILE_BYTES = 4096;

describe('GitHub file cache', () => {
  const dir = tempDir('github-file-cache');
  let github: FakeGitHub;

  beforeAll(async () => {
    const work = join(dir.path, 'work');
    git(dir.path, ['init', '-q', '-b', 'main', work]);
    mkdirSync(join(work, 'keys'));
    for (let index = 0; index < FILES; index++) writeFileSync(join(work, 'keys', `k${index}.asc`), `${index}`.padEnd(FILE_BYTES, '.'));
    git(work, ['add', '.']);
    git(work, ['commit', '-q', '-m', 'many files']);
    git(dir.path, ['clone', '-q', '--bare', work, join(dir.path, 'repo.git')]);
    github = await startFakeGitHub();
    github.repositories.set('acme/many', join(dir.path, 'repo.git'));
    github.issuedTokens.push(TOKEN);
  }, 60_000);
  /** An Octokit-style request with an installation token, as Probot's client sends it (errors carry `status`). */
  const TOKEN = 'ghs_test1_1';
  const request: GitHubRequest = async (route, parameters = {}) => {
    const { owner, repo, path, ref, headers = {} } = parameters as Record<string, string> & { headers?: Record<string, string> };
    expect(route).toBe('GET /repos/{owner}/{repo}/contents/{path}');
    const response = await fetch(`${github.baseUrl}/repos/${owner}/${repo}/contents/${encodeURIComponent(path!)}?ref=${ref}`, {
      headers: { ...headers, authorization: `token ${TOKEN}` },
    });
    const etag = response.headers.get('etag');
    if (response.status >= 300) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    return { status: response.status, data: await response.json(), headers: etag ? { etag } : {} };
  };

  afterAll(async () => {
    await github?.stop();
    dir.remove();
  });

  it('keeps at most its entries and bytes, least recently used out first, and still answers every read', async () => {
    const caches = createGitHubCaches(60_000, { entries: 50, bytes: 100 * 1024 });
    const read = gitHubFileReader(request, caches, 'acme', 'many', 'main');
    // The first file, read again after every few others: the most recently used, never evicted.
    for (let index = 0; index < FILES; index++) {
      expect(
        Buffer.from((await read(`keys/k${index}.asc`))!)
          .toString()
          .startsWith(`${index}.`),
      ).toBe(true);
      if (index % 10 === 0)
        expect(
          Buffer.from((await read('keys/k0.asc'))!)
            .toString()
            .startsWith('0.'),
        ).toBe(true);
      expect(caches.files.size).toBeLessThanOrEqual(50);
      expect(caches.files.bytes).toBeLessThanOrEqual(100 * 1024);
    }
    // 100 KiB holds fewer than 25 files of 4 KiB: bytes bound first.
    expect(caches.files.size).toBeLessThan(25);
    const before = github.requests.length;
    await read('keys/k0.asc');
    const conditional = github.requests.slice(before).filter((request) => request.path.endsWith('/contents/keys/k0.asc'));
    expect(conditional).toHaveLength(1);
    expect(conditional[0]!.headers['if-none-match']).toBeDefined();
  }, 60_000);

  it('bounds entries when files are small', async () => {
    const caches = createGitHubCaches(60_000, { entries: 20, bytes: 32 * 1024 * 1024 });
    const read = gitHubFileReader(request, caches, 'acme', 'many', 'main');
    for (let index = 0; index < 60; index++) await read(`keys/k${index}.asc`);
    expect(caches.files.size).toBe(20);
  }, 60_000);
});
