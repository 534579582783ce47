/**
 * The benchmark repository generators (bench/make-bench-repo.sh with real `git commit-tree -S`,
 * bench/make-bench-repo-fast.mjs signing in-process) make the same shape of history, git accepts
 * every signature in both, and signet agrees with git on them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureFormatOf } from '../../helpers/fixture-repos.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');
const N_OPENPGP = 3;
const N_SSH = 4;

interface BenchInfo {
  nOpenpgp: number;
  nSsh: number;
  head: string;
  root: string;
  openpgpTip: string;
  openpgpFingerprint: string;
  seconds: number;
}

const GENERATORS = {
  git: (dir: string) => execFileSync('bash', [join(root, 'bench', 'make-bench-repo.sh'), dir, `${N_OPENPGP}`, `${N_SSH}`], { stdio: 'pipe' }),
  fast: (dir: string) => execFileSync(process.execPath, [join(root, 'bench', 'make-bench-repo-fast.mjs'), dir, `${N_OPENPGP}`, `${N_SSH}`], { stdio: 'pipe' }),
};
type Generator = keyof typeof GENERATORS;

let work: string;
const dirOf = (generator: Generator): string => join(work, generator);
const infoOf = (generator: Generator): BenchInfo => JSON.parse(readFileSync(join(dirOf(generator), 'info.json'), 'utf8')) as BenchInfo;

function gitIn(generator: Generator, args: string[]): string {
  const dir = dirOf(generator);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GIT_|GNUPG|GPG_)/.test(name)));
  return execFileSync('git', ['-c', `gpg.ssh.allowedSignersFile=${join(dir, 'keys', 'allowed_signers')}`, ...args], {
    cwd: join(dir, 'repo'),
    env: { ...env, GNUPGHOME: join(dir, 'gnupg-verify'), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'signet-bench-repo-'));
  GENERATORS.git(dirOf('git'));
  GENERATORS.fast(dirOf('fast'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(['git', 'fast'] as const)('bench repository made by the %s generator', (generator) => {
  it('is a linear history of OpenPGP then SSH commits, every one G for git', () => {
    const info = infoOf(generator);
    expect([info.nOpenpgp, info.nSsh]).toEqual([N_OPENPGP, N_SSH]);
    const lines = gitIn(generator, ['log', '--format=%H %P %G?', 'main']).trim().split('\n');
    expect(lines).toHaveLength(N_OPENPGP + N_SSH);
    expect(lines.map((line) => line.split(' ').at(-1))).toEqual(Array(N_OPENPGP + N_SSH).fill('G'));
    expect(lines.every((line) => line.split(' ').length <= 3)).toBe(true);
    const newestFirst = lines.map((line) => line.split(' ')[0] ?? '');
    expect([newestFirst[0], newestFirst.at(-1), newestFirst[N_SSH]]).toEqual([info.head, info.root, info.openpgpTip]);
    expect(gitIn(generator, ['rev-parse', 'bench/root', 'bench/openpgp-tip']).trim().split('\n')).toEqual([info.root, info.openpgpTip]);
    const formats = newestFirst.map((id) => signatureFormatOf(gitIn(generator, ['cat-file', 'commit', id]), 'commit'));
    expect(formats).toEqual([...Array(N_SSH).fill('ssh'), ...Array(N_OPENPGP).fill('openpgp')]);
    expect(gitIn(generator, ['count-objects', '-v'])).toMatch(/^count: 0$/m);
  });

  it('is reused as it is when asked for again with the same counts', () => {
    const before = readFileSync(join(dirOf(generator), 'info.json'), 'utf8');
    const output = GENERATORS[generator](dirOf(generator));
    expect(readFileSync(join(dirOf(generator), 'info.json'), 'utf8')).toBe(before);
    expect(String(output)).toBe('');
  });

  it('signet verify says G for every commit, with the registry key', () => {
    const dir = dirOf(generator);
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
        'main',
      ],
      { encoding: 'utf8' },
    );
    const records = run.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { status: string; key: string; format: string });
    expect(records.map((r) => r.status)).toEqual(Array(N_OPENPGP + N_SSH).fill('G'));
    expect(records.slice(N_SSH).map((r) => r.key)).toEqual(Array(N_OPENPGP).fill(infoOf(generator).openpgpFingerprint));
    const sshKey = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'ssh', 'bench-ssh.pub')], { encoding: 'utf8' }).split(' ')[1];
    expect(records.slice(0, N_SSH).map((r) => r.key)).toEqual(Array(N_SSH).fill(sshKey));
    expect(run.status).toBe(0);
  });
});

describe('the million-commit generator (bench/make-bench-repo-pack.mjs), at 300 commits', () => {
  it('writes a pack git indexes and checks, every commit G for git and for signet, in the same order', () => {
    const dir = join(work, 'pack');
    execFileSync(process.execPath, [join(root, 'bench', 'make-bench-repo-pack.mjs'), dir, '300'], { stdio: 'pipe' });
    const allowed = join(dir, 'keys', 'allowed_signers');
    const repo = join(dir, 'repo');
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    const theirs = execFileSync('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'log', '--format=%H %G?', 'main'], { cwd: repo, env, encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(theirs).toHaveLength(300);
    expect(new Set(theirs.map((line) => line.split(' ')[1]))).toEqual(new Set(['G']));
    expect(execFileSync('git', ['count-objects', '-v'], { cwd: repo, env, encoding: 'utf8' })).toMatch(/^count: 0$/m);
    const run = spawnSync(
      process.execPath,
      [join(root, 'bin', 'signet.js'), 'verify', '--repo', repo, '--allowed-signers', allowed, '--format', 'jsonl', '--no-cache', 'main'],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(0);
    const ours = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { commit: string; status: string })
      .map((line) => `${line.commit} ${line.status}`);
    expect(ours).toEqual(theirs);
  });
});
