import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome } from '../../helpers/signing-keys.ts';

function signet(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), ...args], { encoding: 'utf8', cwd: cwd ?? process.cwd() });
}

/** Bad input: one line on stderr that names the problem, exit 2, nothing on stdout. */
describe('signet verify: bad input', () => {
  const dir = tempDir('verify-cli');
  let repo: string;
  beforeAll(() => {
    repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'a'), 'a');
    git(repo, ['add', 'a']);
    git(repo, ['commit', '-q', '-m', 'one']);
  });
  afterAll(() => dir.remove());

  const cases: Array<[string, () => string[], RegExp]> = [
    ['missing repository', () => ['verify', '--repo', join(dir.path, 'nope'), 'HEAD'], /nope: not a git repository/],
    ['unknown revision', () => ['verify', '--repo', repo, 'no-such-branch'], /revision 'no-such-branch' is unknown/],
    [
      'unreadable keyring',
      () => ['verify', '--repo', repo, '--keyring', join(dir.path, 'missing.asc'), 'HEAD'],
      /missing\.asc: cannot read OpenPGP keyring \(no such file\)/,
    ],
    [
      'malformed keyring',
      () => {
        writeFileSync(join(dir.path, 'bad.asc'), '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 !!!\n-----END PGP PUBLIC KEY BLOCK-----\n');
        return ['verify', '--repo', repo, '--keyring', join(dir.path, 'bad.asc'), 'HEAD'];
      },
      /bad\.asc/,
    ],
    [
      'malformed allowed_signers line',
      () => {
        writeFileSync(join(dir.path, 'allowed'), '# comment\nalice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq\nbob@example.com\n');
        return ['verify', '--repo', repo, '--allowed-signers', join(dir.path, 'allowed'), 'HEAD'];
      },
      /allowed:2: /,
    ],
    ['unknown format', () => ['verify', '--repo', repo, '--format', 'xml', 'HEAD'], /--format must be text, json or jsonl/],
    ['unknown option', () => ['verify', '--repo', repo, '--frobnicate', 'HEAD'], /Unknown option '--frobnicate'/],
    ['unknown side of a symmetric range', () => ['verify', '--repo', repo, 'HEAD...nope'], /revision 'nope' is unknown/],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, () => {
      const result = signet(args());
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
      expect(result.stderr).not.toMatch(/internal error|at .*\.m?js:\d+/);
    });
  }

  it('finds the repository from a subdirectory, as git does', () => {
    mkdirSync(join(repo, 'sub', 'dir'), { recursive: true });
    const result = signet(['verify', '--format', 'jsonl', 'HEAD'], join(repo, 'sub', 'dir'));
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({
      commit: git(repo, ['rev-parse', 'HEAD']),
      status: 'N',
      format: 'none',
      key: null,
      signer: null,
      reason: 'unsigned',
    });
  });

  it("says whether the committer e-mail is one of the signing key's identities", () => {
    const gpg = new GpgHome(join(dir.path, 'gnupg'));
    const alice = gpg.createKey('Alice', 'alice@example.com');
    writeFileSync(join(dir.path, 'alice.asc'), alice.armoredPublicKey);
    const own = commitFile(repo, 'e1', '1', 'alice as alice', { email: 'Alice@Example.com', sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const other = commitFile(repo, 'e2', '2', 'alice as someone else', { email: 'mallory@example.com', sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const result = signet(['verify', '--repo', repo, '--keyring', join(dir.path, 'alice.asc'), '--format', 'jsonl', 'HEAD~2..HEAD']);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.find((l) => l.commit === own)).toMatchObject({ status: 'G', email_match: true, signer: 'Alice <alice@example.com>' });
    expect(lines.find((l) => l.commit === other)).toMatchObject({ status: 'G', email_match: false });
  });

  it('exits 0 on an empty range', () => {
    const result = signet(['verify', '--repo', repo, 'HEAD..HEAD']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^0 commits/);
  });
});
