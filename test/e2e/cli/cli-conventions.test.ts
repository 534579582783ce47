import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

function signet(args: string[], cwd = process.cwd()): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), ...args], { encoding: 'utf8', cwd });
}

/** CLI conventions: --help everywhere, `signet help COMMAND`, -V / version, verify -q. */
describe('CLI conventions', () => {
  const commands = [
    'attest',
    'verify-attestation',
    'sign-image',
    'verify-image',
    'sign-package',
    'checksums',
    'generate-key-pair',
    'sign-blob',
    'verify-blob',
    'verify',
    'hook',
    'report',
    'serve',
    'jobs',
    'audit',
    'policy',
  ];
  const subcommands = [
    ['hook', 'install'],
    ['hook', 'uninstall'],
    ['hook', 'pre-receive'],
    ['jobs', 'list'],
    ['jobs', 'run'],
    ['jobs', 'schedule'],
    ['audit', 'export'],
    ['policy', 'check'],
  ];

  it('answers --help on every command and subcommand, the same text as signet help COMMAND', () => {
    for (const command of commands) {
      const help = signet([command, '--help']);
      expect(help.status, command).toBe(0);
      expect(help.stdout, command).toMatch(/^usage: signet /);
      expect(help.stderr, command).toBe('');
      expect(signet(['help', command]).stdout, `help ${command}`).toBe(help.stdout);
    }
    for (const args of subcommands) {
      const help = signet([...args, '--help']);
      expect(help.status, args.join(' ')).toBe(0);
      expect(help.stdout, args.join(' ')).toMatch(new RegExp(`^usage: signet ${args[0]}`));
      // -h as well, after other options.
      expect(signet([...args, '--repo', '/nonexistent', '-h']).stdout, args.join(' ')).toBe(help.stdout);
    }
  });

  it('prints the version for --version, -V and version', () => {
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    for (const flag of ['--version', '-V', 'version']) expect(signet([flag]).stdout, flag).toBe(`signet ${version} (node ${process.version})\n`);
  });

  it('verify: the usage line names --jobs and -q, as the README does; the pool size agrees with the README', () => {
    const help = signet(['verify', '--help']).stdout;
    const usage = help.slice(0, help.indexOf('\n\n')).replace(/\s+/g, ' ');
    expect(usage).toMatch(/\[--jobs N\] \[-q\]/);
    const readme = readFileSync('README.md', 'utf8');
    const readmeUsage = /```\n(signet verify \[--repo DIR\][\s\S]*?)```/.exec(readme)![1]!.replace(/\s+/g, ' ').trim();
    expect(usage.replace(/^usage: /, '')).toBe(readmeUsage);
    expect(help).toMatch(/one thread per core/);
    expect(readme).toMatch(/thread pool, one thread per core/);
  });

  it('jobs list gives the next run in the configured time zone, as the schedule reads', () => {
    const dir = tempDir('cli-jobs-list');
    try {
      writeFileSync(
        join(dir.path, 'jobs.yml'),
        `timezone: Europe/Berlin\nstate_dir: ${join(dir.path, 'state')}\njobs:\n  key-expiry:\n    schedule: "0 9 * * 1"\n`,
      );
      const result = signet(['jobs', 'list', '--config', join(dir.path, 'jobs.yml')]);
      expect(result.stdout).toMatch(/^key-expiry {9}"0 9 \* \* 1" \(Europe\/Berlin\), next \d{4}-\d\d-\d\d 09:00 \+0[12]:00\n/);
    } finally {
      dir.remove();
    }
  });

  describe('verify -q', () => {
    const dir = tempDir('cli-quiet');
    const repo = join(dir.path, 'repo');
    let gpg: GpgHome;
    let alice: GpgIdentity;
    beforeAll(() => {
      gpg = new GpgHome(join(dir.path, 'gnupg'));
      alice = gpg.createKey('Alice', 'alice@example.com');
      git(dir.path, ['init', '-q', '-b', 'main', repo]);
      for (let i = 0; i < 3; i++) commitFile(repo, `f${i}`, `${i}\n`, `signed ${i}`, { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
      commitFile(repo, 'u', 'u\n', 'unsigned one', { email: alice.email });
      commitFile(repo, 'v', 'v\n', 'signed last', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
      writeFileSync(join(dir.path, 'alice.asc'), alice.armoredPublicKey);
      // Two tags sharing their first ten characters, and a tag and a commit by a key the registry lacks.
      const stranger = gpg.createKey('Stranger', 'stranger@example.com');
      for (const name of ['tag-openpgp-one', 'tag-openpgp-two']) git(repo, [...gpg.gitSigningConfig(alice), 'tag', '-s', '-m', name, name], { env: gpg.env() });
      git(repo, [...gpg.gitSigningConfig(stranger), 'tag', '-s', '-m', 'by a stranger', 'stranger-tag'], { env: gpg.env() });
      commitFile(repo, 's', 's\n', 'by a stranger', { email: stranger.email, sign: gpg.gitSigningConfig(stranger), env: gpg.env() });
      git(repo, ['reset', '-q', '--hard', 'HEAD~1']);
      git(repo, ['branch', 'stranger-branch', 'HEAD@{1}']);
    }, 60_000);

    it('prints full tag names, the first column as wide as the longest, and one wording per reason', () => {
      const result = signet(
        ['verify', '--keyring', join(dir.path, 'alice.asc'), 'tag-openpgp-one', 'tag-openpgp-two', 'stranger-tag', 'main..stranger-branch'],
        repo,
      );
      const lines = result.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^tag-openpgp-one  G  /);
      expect(lines[1]).toMatch(/^tag-openpgp-two  G  /);
      expect(lines[2]).toMatch(/^stranger-tag     E  /);
      expect(lines[3]).toMatch(/^[0-9a-f]{10}       E  /);
      const reasonOf = (line: string): string => line.slice(line.lastIndexOf('  ') + 2);
      expect(reasonOf(lines[2]!)).toMatch(/^unknown_key: /);
      expect(reasonOf(lines[2]!)).toBe(reasonOf(lines[3]!));
    });
    afterAll(() => dir.remove());

    it('prints only what is not G, and the summary', () => {
      const full = signet(['verify', '--keyring', join(dir.path, 'alice.asc'), 'main'], repo);
      const quiet = signet(['verify', '--keyring', join(dir.path, 'alice.asc'), '-q', 'main'], repo);
      expect(full.stdout.trim().split('\n')).toHaveLength(6);
      expect(full.stdout).not.toMatch(/tag-/);
      const lines = quiet.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/ N .*unsigned one/);
      expect(lines[1]).toBe(full.stdout.trim().split('\n').at(-1));
      expect(quiet.status).toBe(1);
      const jsonl = signet(['verify', '--keyring', join(dir.path, 'alice.asc'), '--quiet', '--format', 'jsonl', 'main'], repo);
      expect(
        jsonl.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).status),
      ).toEqual(['N']);
    });
  });
});
