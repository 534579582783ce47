import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/** Hook behaviour beyond accept/reject: SHA-256 servers, first verdicts, the time budget. */
describe('pre-receive hook behaviour', () => {
  const dir = tempDir('hook-behaviour');
  let gpg: GpgHome;
  let alice: GpgIdentity;
  const conf = join(dir.path, 'conf');
  const policy = (keyring: string): string =>
    `version: 1\nkeys:\n  openpgp: [${keyring}]\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n`;

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'alice.asc'), alice.armoredPublicKey);
    writeFileSync(join(conf, 'rotated.asc'), gpg.createKey('Bob', 'bob@example.com').armoredPublicKey);
    writeFileSync(join(conf, 'policy.yml'), policy('alice.asc'));
  }, 60_000);
  afterAll(() => dir.remove());

  function setup(name: string, objectFormat: 'sha1' | 'sha256'): { server: string; work: string; push: (args: string[]) => { code: number; stderr: string } } {
    const server = join(dir.path, `${name}.git`);
    const work = join(dir.path, name);
    git(dir.path, ['init', '-q', '--bare', `--object-format=${objectFormat}`, '-b', 'main', server]);
    git(dir.path, ['init', '-q', `--object-format=${objectFormat}`, '-b', 'main', work]);
    git(work, ['remote', 'add', 'origin', server]);
    const install = spawnSync(process.execPath, ['bin/signet.js', 'hook', 'install', '--script', '--repo', server, '--policy', join(conf, 'policy.yml')], {
      encoding: 'utf8',
    });
    expect(install.stderr).toBe('');
    const push = (args: string[]): { code: number; stderr: string } => {
      const result = spawnSync('git', ['push', ...args], { cwd: work, env: { ...gitEnv, ...gpg.env() }, encoding: 'utf8', timeout: 60_000 });
      return { code: result.status ?? -1, stderr: result.stderr };
    };
    return { server, work, push };
  }

  it('guards SHA-256 repositories (64-digit ids, zero id on creation)', () => {
    const { server, work, push } = setup('sha256', 'sha256');
    const good = commitFile(work, 'a', 'a\n', 'signed', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    expect(good).toHaveLength(64);
    const accepted = push(['origin', 'main']);
    expect(accepted.stderr).toMatch(/1 new commit verified/);
    expect(accepted.code).toBe(0);
    commitFile(work, 'b', 'b\n', 'unsigned', { email: alice.email });
    const rejected = push(['origin', 'main']);
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/ N "unsigned"/);
    expect(git(server, ['rev-parse', 'main'])).toBe(good);
  });

  it('keeps accepting history it accepted once, after the key leaves the registry', () => {
    const { server, work, push } = setup('records', 'sha1');
    const commit = commitFile(work, 'a', 'a\n', 'signed while alice was trusted', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    expect(push(['origin', 'main:feature/a']).code).toBe(0);
    // The key rotates out of the registry; the branch is deleted, then the same commit comes back.
    writeFileSync(join(conf, 'policy.yml'), policy('rotated.asc'));
    try {
      expect(push(['origin', ':feature/a']).code).toBe(0);
      const again = push(['origin', 'main:feature/b']);
      expect(again.stderr).not.toMatch(/rejected/);
      expect(again.code).toBe(0);
      expect(git(server, ['rev-parse', 'feature/b'])).toBe(commit);
      // A commit the server never accepted is judged afresh: rejected, its key is gone.
      commitFile(work, 'b', 'b\n', 'signed after the rotation', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
      const fresh = push(['origin', 'main:feature/c']);
      expect(fresh.code, fresh.stderr).not.toBe(0);
      expect(fresh.stderr).toMatch(/ E "signed after the rotation"/);
    } finally {
      writeFileSync(join(conf, 'policy.yml'), policy('alice.asc'));
    }
    const records = readFileSync(join(server, 'signet', 'verdicts', `${commit.slice(0, 2)}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    // The first verdict stands: accepted on feature/a, not overwritten by the push to feature/b.
    expect(records.filter((record) => record.commit === commit)).toHaveLength(1);
    expect(records.find((record) => record.commit === commit)).toMatchObject({ commit, ref: 'refs/heads/feature/a', verdict: { status: 'G' } });
  });

  it('fails closed when it runs out of time', () => {
    const { server, work, push } = setup('budget', 'sha1');
    git(server, ['config', 'signet.timeoutMs', '1']);
    for (let i = 0; i < 3; i++) commitFile(work, `f${i}`, `${i}\n`, `signed ${i}`, { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const result = push(['origin', 'main']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/did not finish within the hook time limit/);
    expect(spawnSync('git', ['--git-dir', server, 'rev-parse', '--verify', '-q', 'main']).status).not.toBe(0);
  });

  it('refuses a push bringing more new commits than signet.maxPushCommits, and changes no ref', () => {
    // Each new commit is held with its verdict until the push is decided: a pusher must not
    // choose how much memory the server spends (100,000 commits: 477 MiB).
    const { server, work, push } = setup('many', 'sha1');
    git(server, ['config', 'signet.maxPushCommits', '5']);
    const sign = { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() };
    for (let index = 0; index < 6; index++) commitFile(work, `f${index}`, `${index}\n`, `signed ${index}`, sign);
    const refused = push(['origin', 'main']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refs\/heads\/main: the push brings more than 5 new commits \(signet\.maxPushCommits\)/);
    expect(spawnSync('git', ['--git-dir', server, 'rev-parse', '--verify', '-q', 'main']).status).not.toBe(0);
    // The same history in parts passes: five, then the sixth.
    expect(push(['origin', 'main~1:refs/heads/main']).code).toBe(0);
    const rest = push(['origin', 'main']);
    expect(rest.stderr).toMatch(/1 new commit verified/);
    expect(rest.code).toBe(0);
    // Two refs pushed to the same new history count it once.
    for (let index = 0; index < 3; index++) commitFile(work, `g${index}`, `${index}\n`, `more ${index}`, sign);
    expect(push(['origin', 'main', 'main:refs/heads/copy']).code).toBe(0);
    // A value that is not a positive whole number is the admin's error, and refuses too.
    git(server, ['config', 'signet.maxPushCommits', 'lots']);
    commitFile(work, 'h', 'h\n', 'one more', sign);
    const misconfigured = push(['origin', 'main']);
    expect(misconfigured.code).not.toBe(0);
    expect(misconfigured.stderr).toMatch(/git config signet\.maxPushCommits: 'lots' is not a positive whole number/);
  });
});
