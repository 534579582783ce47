import { createHash, createHmac } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_FILE_MAX_BYTES } from '../../../src/store/read-cache-file.ts';
import { verdictKey } from '../../../src/store/verdict-cache.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { makeFixtures, gitEnv, registryArgs, type Fixtures } from '../../helpers/fixture-repos.ts';
import { commitFile, createSshKey, GpgHome, sshSigningConfig, type SshIdentity } from '../../helpers/signing-keys.ts';

interface Line {
  commit: string;
  status: string;
}

/** The secret the cache files are authenticated with in these tests (a CI secret in real use). */
const CACHE_KEY = 'verify-cache-test-secret-of-32-bytes-or-more';
const mac = (key: string, body: string) => createHmac('sha256', CACHE_KEY).update(key).update('\0').update(body).digest('hex');

function signet(args: string[], env?: NodeJS.ProcessEnv): { status: number | null; lines: Line[]; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'verify', '--format', 'jsonl', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SIGNET_CACHE_KEY: CACHE_KEY, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);
  return { status: run.status, lines, stdout: run.stdout, stderr: run.stderr };
}

function statusOf(run: { lines: Line[] }, commit: string): string | undefined {
  return run.lines.find((line) => line.commit === commit)?.status;
}

/** The one cache file in a directory, as header and body lines. */
function cacheFile(directory: string): { path: string; header: string; body: string } {
  const files = readdirSync(directory).filter((name) => name.endsWith('.cache'));
  expect(files).toHaveLength(1);
  const path = join(directory, files[0]!);
  const text = readFileSync(path, 'utf8');
  const end = text.indexOf('\n');
  return { path, header: text.slice(0, end), body: text.slice(end + 1) };
}

/** Removes the walk memos, so that a run walks and reads the per-commit cache. */
function dropMemos(directory: string): void {
  for (const name of readdirSync(directory)) if (name.endsWith('.memo')) rmSync(join(directory, name));
}

/** The walk memo files in a directory (src/store/walk-memo.ts): a fixed-width header, then the records. */
const MEMO_HEADER = 'signet-walk-memo 2 '.length + 64 + 1 + 64 + 1;
function memoFiles(directory: string): Array<{ path: string; key: string; body: string }> {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.memo'))
    .map((name) => {
      const path = join(directory, name);
      const text = readFileSync(path, 'utf8');
      return { path, key: text.split(' ')[2]!, body: text.slice(MEMO_HEADER) };
    });
}

/** Rewrites a memo's body with a MAC under the test secret (a run that had the secret), or with a wrong one. */
function writeMemo(memo: { path: string; key: string }, body: string, authentic = true): void {
  const secret = authentic ? CACHE_KEY : 'another machine';
  const tag = createHmac('sha256', secret).update('signet-walk-memo').update('\0').update(memo.key).update('\0').update(body).digest('hex');
  writeFileSync(memo.path, `signet-walk-memo 2 ${memo.key} ${tag}\n${body}`);
}

describe('signet verify: the verdict cache', () => {
  const dir = tempDir('verify-cache');
  let repo: string;
  let alice: SshIdentity;
  let bob: SshIdentity;
  let sshCommit: string;
  let pgpCommit: string;
  let gpg: GpgHome;
  const file = (name: string, text: string): string => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };
  let aliceAllowed: string;
  let bobAllowed: string;
  let carolRing: string;
  let daveRing: string;
  // Carol's key is made now and expires in a day: valid an hour from now, expired in three days.
  const before = new Date(Date.now() + 3600_000).toISOString();
  const after = new Date(Date.now() + 3 * 86400_000).toISOString();

  beforeAll(() => {
    repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    alice = createSshKey(join(dir.path, 'ssh'), 'alice', 'alice@example.com');
    bob = createSshKey(join(dir.path, 'ssh'), 'bob', 'bob@example.com');
    sshCommit = commitFile(repo, 'a', '1', 'ssh', { email: 'alice@example.com', sign: sshSigningConfig(alice) });
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    gpg.gpg(['--quick-gen-key', 'Carol <carol@example.com>', 'ed25519', 'sign', '1d']);
    const carol = /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpg(['--with-colons', '--list-keys', 'carol@example.com']))![1]!;
    pgpCommit = commitFile(repo, 'b', '2', 'openpgp', {
      email: 'carol@example.com',
      sign: ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${carol}`],
      env: gpg.env(),
    });
    const dave = new GpgHome(join(dir.path, 'gnupg-dave')).createKey('Dave', 'dave@example.com');
    aliceAllowed = file('alice.allowed', `alice@example.com ${alice.publicKeyLine}\n`);
    bobAllowed = file('bob.allowed', `bob@example.com ${bob.publicKeyLine}\n`);
    carolRing = file('carol.asc', gpg.gpg(['--armor', '--export', carol]));
    daveRing = file('dave.asc', dave.armoredPublicKey);
  }, 60_000);
  afterAll(() => dir.remove());

  it('lives in the git dir by default and reuses what it holds', () => {
    const first = signet(['--repo', repo, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(statusOf(first, sshCommit)).toBe('G');
    const cached = cacheFile(join(repo, '.git', 'signet', 'verify-cache'));
    expect(cached.body).toContain(sshCommit);
    // A record rewritten with a valid MAC under the secret is believed (it stands for a run that
    // had the secret): that shows the second run used the record instead of verifying.
    const body = cached.body.replace('"status":"G"', '"status":"B"');
    expect(body).not.toBe(cached.body);
    const header = cached.header.split(' ');
    header[3] = mac(header[2] ?? '', body);
    writeFileSync(cached.path, `${header.join(' ')}\n${body}`);
    // The walk memo would answer the whole range first: without it the run reads the record.
    const defaultCache = join(repo, '.git', 'signet', 'verify-cache');
    dropMemos(defaultCache);
    const second = signet(['--repo', repo, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(statusOf(second, sshCommit)).toBe('B');
    // The same forgery with a plain checksum, or under another secret (a cache restored from a job
    // that had no access to the secret), is ignored and the commit verified again.
    header[3] = createHash('sha256').update(body).digest('hex');
    writeFileSync(cached.path, `${header.join(' ')}\n${body}`);
    dropMemos(defaultCache);
    const forged = signet(['--repo', repo, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(forged.stderr).toMatch(/not written with this machine's cache key, or damaged; ignored/);
    expect(statusOf(forged, sshCommit)).toBe('G');
    dropMemos(defaultCache);
    const elsewhere = signet(['--repo', repo, '--allowed-signers', aliceAllowed, 'HEAD'], { SIGNET_CACHE_KEY: 'another machine, another secret of 32 bytes' });
    expect(elsewhere.stderr).toMatch(/not written with this machine's cache key/);
    expect(statusOf(elsewhere, sshCommit)).toBe('G');
    expect(statusOf(signet(['--repo', repo, '--allowed-signers', aliceAllowed, '--no-cache', 'HEAD']), sshCommit)).toBe('G');
  });

  it('answers a repeated range from its walk memo, without the per-commit cache', () => {
    const cache = join(dir.path, 'cache-memo');
    const args = ['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD'];
    const first = signet(args);
    expect(statusOf(first, sshCommit)).toBe('G');
    const [memo] = memoFiles(cache);
    expect(memo!.body).toContain(`c\t${sshCommit}\t`);
    // The per-commit cache is not read: the same answer with its file gone.
    rmSync(cacheFile(cache).path);
    expect(signet(args).stdout).toBe(first.stdout);
    // An authentic memo is believed (it stands for a run that had the secret): the run used it.
    const forged = memo!.body.replace('"status":"G"', '"status":"B"');
    expect(forged).not.toBe(memo!.body);
    writeMemo(memo!, forged);
    expect(statusOf(signet(args), sshCommit)).toBe('B');
  });

  it('ignores a tampered, foreign or cut-short memo, says so, and walks again', () => {
    const cache = join(dir.path, 'cache-memo-tampered');
    const args = ['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD'];
    signet(args);
    const [memo] = memoFiles(cache);
    const forged = memo!.body.replace('"status":"G"', '"status":"B"');
    for (const write of [
      () => writeFileSync(memo!.path, readFileSync(memo!.path, 'utf8').replace('"status":"G"', '"status":"B"')),
      () => writeMemo(memo!, forged, false),
      () => writeFileSync(memo!.path, readFileSync(memo!.path, 'utf8').slice(0, -20)),
    ]) {
      write();
      const run = signet(args);
      expect(run.stderr).toMatch(/\.memo: not written with this machine's cache key, or damaged; ignored, walking again/);
      expect(statusOf(run, sshCommit)).toBe('G');
    }
    writeFileSync(memo!.path, 'PK\u0003\u0004 not a memo at all');
    const foreign = signet(args);
    expect(foreign.stderr).toMatch(/not a signet walk memo; ignored/);
    expect(statusOf(foreign, sshCommit)).toBe('G');
  });

  it('uses no memo made for another tip, registry or shallow boundary', () => {
    const cache = join(dir.path, 'cache-memo-other');
    const head = git(repo, ['rev-parse', 'HEAD']).trim();
    const args = (allowed: string, revision = 'HEAD') => ['--repo', repo, '--cache', cache, '--allowed-signers', allowed, revision];
    signet(args(aliceAllowed));
    // Every memo (one so far) says B: a run that finds one it may not use still says G.
    const forgeAll = () => {
      for (const memo of memoFiles(cache)) writeMemo(memo, memo.body.replaceAll('"status":"G"', '"status":"B"'));
    };
    forgeAll();
    expect(statusOf(signet(args(aliceAllowed)), sshCommit)).toBe('B');
    // Another tip: the range from sshCommit alone (a ref moved back) walks again.
    expect(statusOf(signet(args(aliceAllowed, sshCommit)), sshCommit)).toBe('G');
    forgeAll();
    // Another registry: Bob's keys judge afresh (Alice's commit is not G for them, nor B from the memo).
    const other = signet(args(bobAllowed));
    expect(statusOf(other, sshCommit)).not.toBe('B');
    expect(statusOf(other, sshCommit)).not.toBe('G');
    // Another shallow boundary: the same tip, cut at the SSH commit, walks again.
    forgeAll();
    const shallow = join(repo, '.git', 'shallow');
    writeFileSync(shallow, `${sshCommit}\n`);
    try {
      const cut = signet(args(aliceAllowed));
      expect(statusOf(cut, sshCommit)).toBe('G');
      expect(cut.lines.map((line) => line.commit)).toContain(head);
    } finally {
      rmSync(shallow);
    }
  });

  it('is not used for another allowed_signers file', () => {
    const cache = join(dir.path, 'cache-allowed');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']), sshCommit)).toBe('G');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--allowed-signers', bobAllowed, 'HEAD']), sshCommit)).not.toBe('G');
  });

  it('is not used once the key is revoked', () => {
    const cache = join(dir.path, 'cache-revoked');
    const none = file('none.revoked', '');
    const revoked = file('alice.revoked', `${alice.publicKeyLine}\n`);
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, '--revoked-keys', none, 'HEAD']), sshCommit)).toBe('G');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, '--revoked-keys', revoked, 'HEAD']), sshCommit)).toBe('R');
  });

  it('answers as --no-cache when the same key files are given under other names (a verdict names its file)', () => {
    // An SSH verdict (reused at the clock) says where it was judged: "… is revoked in <file>",
    // "<allowed_signers>:<line>". Keyed by the files' bytes alone, a cached verdict named the
    // file of an earlier run, and the output was not a cold run's.
    const cache = join(dir.path, 'cache-names');
    const text = (revoked: string, allowed: string, extra: string[]): string => {
      const run = spawnSync(
        process.execPath,
        [join(process.cwd(), 'bin/signet.js'), 'verify', '--repo', repo, ...extra, '--allowed-signers', allowed, '--revoked-keys', revoked, 'HEAD'],
        {
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, SIGNET_CACHE_KEY: CACHE_KEY },
        },
      );
      return run.stdout;
    };
    const first = file('first.revoked', `${alice.publicKeyLine}\n`);
    const second = file('second.revoked', `${alice.publicKeyLine}\n`);
    const allowedCopy = file('alice-copy.allowed', readFileSync(aliceAllowed, 'utf8'));
    const cold = text(second, allowedCopy, ['--no-cache']);
    expect(cold).toContain('second.revoked');
    expect(text(first, aliceAllowed, ['--cache', cache])).toContain('first.revoked');
    expect(text(second, allowedCopy, ['--cache', cache])).toBe(cold);
  });

  it('is not used for another keyring', () => {
    const cache = join(dir.path, 'cache-keyring');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--keyring', carolRing, '--now', before, 'HEAD']), pgpCommit)).toBe('G');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--keyring', daveRing, '--now', before, 'HEAD']), pgpCommit)).toBe('E');
  });

  it('is not used for another --now', () => {
    const cache = join(dir.path, 'cache-now');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--keyring', carolRing, '--now', before, 'HEAD']), pgpCommit)).toBe('G');
    expect(statusOf(signet(['--repo', repo, '--cache', cache, '--keyring', carolRing, '--now', after, 'HEAD']), pgpCommit)).toBe('Y');
  });

  it('without --now keeps no verdict judged against the clock (OpenPGP expiry), only SSH and unsigned ones', () => {
    const cache = join(dir.path, 'cache-clock');
    signet(['--repo', repo, '--cache', cache, '--keyring', carolRing, '--allowed-signers', aliceAllowed, 'HEAD']);
    const { body } = cacheFile(cache);
    expect(body).toContain(sshCommit);
    expect(body).not.toContain(pgpCommit);
    // The walk memo keeps the order, and marks the OpenPGP commit to be verified again.
    const [memo] = memoFiles(cache);
    expect(memo!.body).toContain(`c\t${pgpCommit}\t-\t`);
    expect(memo!.body).toMatch(new RegExp(`c\t${sshCommit}\t[0-9]+\t`));
  });

  it('ignores a damaged file, says so, and verifies again', () => {
    const cache = join(dir.path, 'cache-damaged');
    signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']);
    const { path, header, body } = cacheFile(cache);
    writeFileSync(path, `${header}\n${body.replace('"status":"G"', '"status":"B"')}`);
    dropMemos(cache);
    const run = signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(run.stderr).toMatch(/not written with this machine's cache key, or damaged; ignored, verifying again/);
    expect(statusOf(run, sshCommit)).toBe('G');
    // A foreign file under the right name is ignored the same way.
    writeFileSync(path, 'PK\u0003\u0004 not a cache at all');
    dropMemos(cache);
    const foreign = signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(foreign.stderr).toMatch(/not a signet verdict cache; ignored/);
    expect(statusOf(foreign, sshCommit)).toBe('G');
  });

  // Whoever can write the cache directory (a restored CI cache, --cache DIR in a checkout) can
  // put anything at the two names: a FIFO would hang a plain read, a symlink to /dev/zero or a
  // huge file would fill memory, a directory would fail the run. Each is ignored, said, and the
  // commits verified again — never trusted, never hanging (spawnSync's timeout fails the test).
  it.each([
    ['a FIFO', (path: string) => execFileSync('mkfifo', [path]), /not a regular file; ignored/],
    ['a symbolic link to /dev/zero', (path: string) => symlinkSync('/dev/zero', path), /a symbolic link, not a file signet wrote; ignored/],
    ['a directory', (path: string) => mkdirSync(path), /not a regular file; ignored/],
    ['a file over the bound (sparse)', (path: string) => truncateSync(path, CACHE_FILE_MAX_BYTES + 1), /\d+ bytes, over the \d+-byte bound; ignored/],
  ])('ignores %s at the verdict cache and walk memo names, says so, and verifies again', (_name, plant, said) => {
    const cache = join(dir.path, `cache-planted-${_name.replace(/\W+/g, '-')}`);
    signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']);
    const { path } = cacheFile(cache);
    const [memo] = memoFiles(cache);
    const replace = (name: string) => {
      rmSync(name, { recursive: true, force: true });
      if (_name.startsWith('a file')) writeFileSync(name, '');
      plant(name);
    };
    replace(path);
    replace(memo!.path);
    const uncached = signet(['--repo', repo, '--no-cache', '--allowed-signers', aliceAllowed, 'HEAD']);
    const started = Date.now();
    const run = signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.stderr).toMatch(new RegExp(`\\.memo: ${said.source}`));
    expect(run.status, run.stderr).toBe(uncached.status);
    expect(run.lines).toEqual(uncached.lines);
    expect(statusOf(run, sshCommit)).toBe('G');
    // The walk memo gone, the run reads the verdict cache's name: ignored the same way.
    rmSync(memo!.path, { recursive: true, force: true });
    replace(path);
    const again = signet(['--repo', repo, '--cache', cache, '--allowed-signers', aliceAllowed, 'HEAD']);
    expect(again.stderr).toMatch(new RegExp(`\\.cache: ${said.source}`));
    expect(again.status, again.stderr).toBe(uncached.status);
    expect(again.lines).toEqual(uncached.lines);
  });

  it('refuses a SIGNET_CACHE_KEY shorter than 32 bytes, naming its length and never its bytes', () => {
    const run = signet(['--repo', repo, '--allowed-signers', aliceAllowed, 'HEAD'], { SIGNET_CACHE_KEY: 'hunter2-short' });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/SIGNET_CACHE_KEY is 13 bytes; a cache key needs at least 32/);
    expect(run.stderr).not.toContain('hunter2');
    // --no-cache needs no key at all.
    const uncached = signet(['--repo', repo, '--allowed-signers', aliceAllowed, '--no-cache', 'HEAD'], { SIGNET_CACHE_KEY: 'hunter2-short' });
    expect(uncached.stderr).toBe('');
    expect(statusOf(uncached, sshCommit)).toBe('G');
  });

  it('keys on every input: trusted root, X.509 roots, CRLs, keyless identities, policy, signet version', () => {
    const base = { keyrings: [] };
    const keys = new Set([
      verdictKey({ sources: base, verifier: '0.2.0' }),
      verdictKey({ sources: base, verifier: '0.1.0' }),
      verdictKey({ sources: { ...base, trustedRoot: { name: 'root.json', text: '{"a":1}' } }, verifier: '0.1.0' }),
      verdictKey({ sources: { ...base, trustedRoot: { name: 'root.json', text: '{"a":2}' } }, verifier: '0.1.0' }),
      verdictKey({ sources: { ...base, x509Roots: [{ name: 'ca.pem', text: 'one' }] }, verifier: '0.1.0' }),
      verdictKey({ sources: { ...base, crls: [{ name: 'ca.crl', bytes: new Uint8Array([1]) }] }, verifier: '0.1.0' }),
      verdictKey({ sources: { ...base, keylessIdentities: [{ subject: 'a@example.com', issuer: 'https://issuer' }] }, verifier: '0.1.0' }),
      verdictKey({ sources: { ...base, keylessIdentities: [{ subjectRegexp: /^a@example\.com$/, issuer: 'https://issuer' }] }, verifier: '0.1.0' }),
      verdictKey({ sources: base, policy: new TextEncoder().encode('rules: []\n'), verifier: '0.1.0' }),
      verdictKey({ sources: base, now: new Date(before), verifier: '0.1.0' }),
    ]);
    expect(keys.size).toBe(10);
  });
});

describe('signet verify: cached verdicts equal uncached ones on the differential fixtures', () => {
  let fx: Fixtures;
  const dir = tempDir('verify-cache-fixtures');
  beforeAll(() => {
    fx = makeFixtures();
  }, 120_000);
  afterAll(() => dir.remove());

  /** `verify --all` of a repository with the differential fixtures' registries, at `now` when given. */
  const fixtureArgs = (repo: string, now: string | undefined): string[] => ['--repo', repo, ...registryArgs(fx), ...(now ? ['--now', now] : []), '--all'];

  for (const now of [undefined, '2030-01-01T00:00:00Z']) {
    it(`${now ? 'with' : 'without'} --now`, () => {
      const args = fixtureArgs(fx.repoDir('repo'), now);
      const cache = join(dir.path, now ? 'now' : 'clock');
      const uncached = signet([...args, '--no-cache'], gitEnv(fx));
      const first = signet([...args, '--cache', cache], gitEnv(fx));
      const second = signet([...args, '--cache', cache], gitEnv(fx));
      expect(uncached.lines.length).toBeGreaterThan(10);
      const commits = uncached.lines.filter((line) => !('tag' in line)).length;
      expect(cacheFile(cache).body.split('\n').length).toBeGreaterThan(now ? commits : 1);
      expect(first.stdout).toBe(uncached.stdout);
      expect(second.stdout).toBe(uncached.stdout);
      expect(second.status).toBe(uncached.status);
    });

    it(`four runs at once on one cache (writing, renaming and pruning under each other), then a moved tip, answer as --no-cache, ${now ? 'with' : 'without'} --now`, async () => {
      // CI jobs of one runner share a repository's git dir: none may fail, repeat or drop a commit.
      const repo = join(dir.path, `together-${now ? 'now' : 'clock'}`);
      cpSync(fx.repoDir('repo'), repo, { recursive: true });
      const args = fixtureArgs(repo, now);
      const cache = join(dir.path, `together-cache-${now ? 'now' : 'clock'}`);
      const together = async (): Promise<Array<{ status: number | null; stdout: string; stderr: string }>> =>
        Promise.all(
          Array.from(
            { length: 4 },
            () =>
              new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
                const child = spawn(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'verify', '--format', 'jsonl', ...args, '--cache', cache], {
                  env: { ...process.env, SIGNET_CACHE_KEY: CACHE_KEY, ...gitEnv(fx) },
                });
                let stdout = '';
                let stderr = '';
                child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
                child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
                const timer = setTimeout(() => child.kill(), 60_000);
                child.on('error', reject);
                child.on('close', (status) => {
                  clearTimeout(timer);
                  resolve({ status, stdout, stderr });
                });
              }),
          ),
        );
      for (const step of ['first', 'moved']) {
        if (step === 'moved') {
          const date = '2035-01-01T00:00:00Z';
          const next = git(repo, ['commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', 'one more'], { env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
          git(repo, ['update-ref', 'HEAD', next]);
        }
        const uncached = signet([...args, '--no-cache'], gitEnv(fx));
        for (const run of await together()) {
          expect(run.stderr).not.toMatch(/^\s+at /m);
          expect(run.stdout).toBe(uncached.stdout);
          expect(run.status).toBe(uncached.status);
        }
      }
    }, 120_000);

    it(`a moved tip (one new commit on HEAD's branch) replays the earlier memo and answers as --no-cache, ${now ? 'with' : 'without'} --now`, () => {
      // A copy: the other cases keep the fixture's history.
      const repo = join(dir.path, `moved-${now ? 'now' : 'clock'}`);
      cpSync(fx.repoDir('repo'), repo, { recursive: true });
      const args = fixtureArgs(repo, now);
      const cache = join(dir.path, `moved-cache-${now ? 'now' : 'clock'}`);
      signet([...args, '--cache', cache], gitEnv(fx));
      // Dated after every fixture commit, as a push in CI is: the walk takes it first.
      const date = '2035-01-01T00:00:00Z';
      const next = git(repo, ['commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', 'one more'], { env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
      git(repo, ['update-ref', 'HEAD', next]);
      const moved = signet([...args, '--cache', cache], { ...gitEnv(fx), SIGNET_CACHE_STATS: '1' });
      const uncached = signet([...args, '--no-cache'], gitEnv(fx));
      expect(moved.stderr).toMatch(/walk memo: 1 new commit walked, then \d+ replayed from an earlier range's/);
      expect(uncached.lines.some((line) => line.commit === next)).toBe(true);
      expect(moved.stdout).toBe(uncached.stdout);
      expect(moved.status).toBe(uncached.status);
    });
  }
});
