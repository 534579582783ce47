/**
 * The realistic benchmark history (bench/make-realistic-repo.sh, real git, gpg and ssh-keygen):
 * 30 signers with every kind of key, an unknown signer, unsigned stretches, feature branches
 * merged through signed tags (mergetag headers), OpenTimestamps blocks, and a secp256k1 key in
 * the keyring. signet's letter for every commit and tag equals git's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..', '..');
const ROUNDS = 10;
let work: string;
let dir: string;

function env(): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GIT_|GNUPG|GPG_)/.test(name)));
  return { ...clean, GNUPGHOME: join(dir, 'gnupg-verify'), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
}

function git(args: string[]): string {
  return execFileSync('git', ['-c', `gpg.ssh.allowedSignersFile=${join(dir, 'keys', 'allowed_signers')}`, ...args], {
    cwd: join(dir, 'repo'),
    env: env(),
    encoding: 'utf8',
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'signet-realistic-'));
  dir = join(work, 'bench');
  execFileSync('bash', [join(root, 'bench', 'make-realistic-repo.sh'), dir, String(ROUNDS)], { stdio: 'pipe' });
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a history shaped like a real project', () => {
  it("gets git's letter on every commit and every tag", () => {
    const run = spawnSync(
      process.execPath,
      [
        join(root, 'bin', 'signet.js'),
        'verify',
        '--repo',
        join(dir, 'repo'),
        '--keyring',
        join(dir, 'keys', 'registry.asc'),
        '--allowed-signers',
        join(dir, 'keys', 'allowed_signers'),
        '--format',
        'jsonl',
        '--all',
      ],
      { env: env(), encoding: 'utf8' },
    );
    // The secp256k1 key is skipped with one warning line; everything else is read.
    expect(run.stderr).toMatch(
      /^signet: warning: skipped .*registry\.asc: key [0-9A-F]{40} cannot be used: it is on the elliptic curve secp256k1, which signet cannot check yet \(gpg can\)\n$/,
    );
    const records = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { commit?: string; tag?: string; name?: string; status: string });
    const theirs = new Map(
      git(['log', '--all', '--format=%H %G?'])
        .trim()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    const commits = records.filter((record) => record.commit);
    expect(commits).toHaveLength(theirs.size);
    const differing = commits.filter((record) => theirs.get(record.commit!) !== record.status);
    expect(differing).toEqual([]);
    const letters = new Set(commits.map((record) => record.status));
    expect([...letters].sort()).toEqual(['E', 'G', 'N']);
    // Feature tags (merged through mergetag headers) as git verify-tag judges them.
    const tags = records.filter((record) => record.tag);
    expect(tags.length).toBe(ROUNDS / 2);
    for (const tag of tags) {
      expect(spawnSync('git', ['verify-tag', tag.tag!], { cwd: join(dir, 'repo'), env: env() }).status, tag.name).toBe(0);
      expect(tag.status, tag.name).toBe('G');
    }
    // The shape promised: timestamp blocks and mergetags are there.
    const mainCommits = git(['rev-list', 'main']).trim().split('\n');
    const raw = mainCommits.map((commit) => git(['cat-file', 'commit', commit]));
    expect(raw.filter((text) => text.includes('-----BEGIN OPENTIMESTAMPS GIT TIMESTAMP-----')).length).toBe(Math.floor(ROUNDS / 4));
    expect(raw.filter((text) => /^mergetag /m.test(text)).length).toBe(ROUNDS / 2);
    expect(JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'))).toMatchObject({ rounds: ROUNDS, signers: 30 });
  });
});
