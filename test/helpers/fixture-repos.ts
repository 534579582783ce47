/**
 * Real-git signature fixtures (fixtures/make-fixtures.sh) and the git side of the differential
 * tests: what git itself says about each commit and tag, and what `signet verify` says.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type FixtureRepo = 'repo' | 'repo-sha256';

export interface FixtureCase {
  name: string;
  /** The branch or tag made for this case. */
  ref: string;
  /** The commit id; for `kind: 'tag'` the tag object's id. */
  commit: string;
  kind: 'commit' | 'merge' | 'tag';
  repo: FixtureRepo;
}

export interface Fixtures {
  dir: string;
  cases: FixtureCase[];
  keyring: string;
  allowedSigners: string;
  revokedKeys: string;
  /** GNUPGHOME holding exactly the registry's public keys, ownertrust ultimate. */
  gnupgVerify: string;
  /** who=FINGERPRINT lines of keys/openpgp-fingerprints (`subkey-signing` is the signing subkey). */
  fingerprints: Record<string, string>;
  repoDir(repo: FixtureRepo): string;
  caseNamed(name: string): FixtureCase;
  cleanup(): void;
}

const projectRoot = resolve(import.meta.dirname, '..', '..');
export const makeFixturesScript = join(projectRoot, 'fixtures', 'make-fixtures.sh');
const signetBin = join(projectRoot, 'bin', 'signet.js');

/** Runs fixtures/make-fixtures.sh into a fresh temporary directory. */
export function makeFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'signet-fx-'));
  try {
    execFileSync('bash', [makeFixturesScript, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    throw new Error(`make-fixtures.sh failed: ${stderr.trim()}`);
  }
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as FixtureCase[];
  const fingerprints = Object.fromEntries(
    readFileSync(join(dir, 'keys', 'openpgp-fingerprints'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => line.split('=') as [string, string]),
  );
  return {
    dir,
    cases,
    keyring: join(dir, 'keys', 'registry.asc'),
    allowedSigners: join(dir, 'keys', 'allowed_signers'),
    revokedKeys: join(dir, 'keys', 'revoked_keys'),
    gnupgVerify: join(dir, 'gnupg-verify'),
    fingerprints,
    repoDir: (repo) => join(dir, repo),
    caseNamed(name) {
      const found = cases.find((c) => c.name === name);
      if (!found) throw new Error(`no fixture case named ${name}`);
      return found;
    },
    cleanup() {
      for (const home of ['gnupg-sign', 'gnupg-verify']) {
        spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: join(dir, home) } });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An environment in which git sees only the fixture's trust roots, never the caller's set-up. */
export function gitEnv(fx: Fixtures): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(GIT_|GNUPG|GPG_)/.test(name)) env[name] = value;
  }
  return { ...env, GNUPGHOME: fx.gnupgVerify, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', TZ: 'UTC' };
}

/** git's verification settings for SSH: the fixture's allowed signers and revoked keys. */
function sshConfig(fx: Fixtures): string[] {
  return ['-c', `gpg.ssh.allowedSignersFile=${fx.allowedSigners}`, '-c', `gpg.ssh.revocationFile=${fx.revokedKeys}`];
}

export function git(fx: Fixtures, repo: FixtureRepo, args: string[]): string {
  return execFileSync('git', [...sshConfig(fx), ...args], {
    cwd: fx.repoDir(repo),
    env: gitEnv(fx),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface GitVerdict {
  status: string;
  /** git's %GK: OpenPGP long key ID (16 hex) or SSH `SHA256:…`; '' when git prints none. */
  key: string;
}

/** git's own `%G? %GK` for every commit the revisions name (git verifies SSH at the committer time). */
export function gitStatuses(fx: Fixtures, repo: FixtureRepo, revisions: string[] = ['--all']): Map<string, GitVerdict> {
  const out = git(fx, repo, ['log', '--format=%H %G? %GK', ...revisions]);
  const verdicts = new Map<string, GitVerdict>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [commit = '', status = '', key = ''] = line.split(' ');
    verdicts.set(commit, { status, key });
  }
  return verdicts;
}

export function gitRevList(fx: Fixtures, repo: FixtureRepo, revisions: string[]): string[] {
  return git(fx, repo, ['rev-list', ...revisions])
    .split('\n')
    .filter((line) => line !== '');
}

export interface RefInfo {
  name: string;
  /** The object the ref names directly: `tag` for annotated tags. */
  type: string;
  id: string;
}

/** Every ref of the repository (branches and tags) with the type of object it names. */
export function refsOf(fx: Fixtures, repo: FixtureRepo): RefInfo[] {
  return git(fx, repo, ['for-each-ref', '--format=%(refname) %(objecttype) %(objectname)'])
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [name = '', type = '', id = ''] = line.split(' ');
      return { name, type, id };
    });
}

/** Every ref of the repository (branches and tags), as full ref names. */
export function allRefs(fx: Fixtures, repo: FixtureRepo): string[] {
  return refsOf(fx, repo).map((ref) => ref.name);
}

export interface GitTagCheck {
  ok: boolean;
  /** `git verify-tag --raw` output (gpg status lines or ssh-keygen's words) and its complaints. */
  output: string;
}

export function gitVerifyTag(fx: Fixtures, repo: FixtureRepo, tag: string): GitTagCheck {
  const run = spawnSync('git', [...sshConfig(fx), 'verify-tag', '--raw', tag], {
    cwd: fx.repoDir(repo),
    env: gitEnv(fx),
    encoding: 'utf8',
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** `git verify-commit --raw`: gpg's status lines for one commit (exit status ignored). */
export function gitVerifyCommitRaw(fx: Fixtures, repo: FixtureRepo, commit: string): string {
  const run = spawnSync('git', [...sshConfig(fx), 'verify-commit', '--raw', commit], {
    cwd: fx.repoDir(repo),
    env: gitEnv(fx),
    encoding: 'utf8',
  });
  return `${run.stdout}${run.stderr}`;
}

export interface SignetRecord {
  commit?: string;
  tag?: string;
  status: string;
  format: string;
  key?: string;
  signer?: string;
  reason: string;
}

export interface SignetRun {
  exitCode: number | null;
  records: SignetRecord[];
  stdout: string;
  stderr: string;
}

/** The fixtures' registries as `signet verify` options. */
export function registryArgs(fx: Fixtures): string[] {
  return ['--keyring', fx.keyring, '--allowed-signers', fx.allowedSigners, '--revoked-keys', fx.revokedKeys];
}

function signetArgs(fx: Fixtures, repo: FixtureRepo, revisions: string[]): string[] {
  return [signetBin, 'verify', '--repo', fx.repoDir(repo), ...registryArgs(fx), '--format', 'jsonl', ...revisions];
}

function parseSignetRun(exitCode: number | null, stdout: string, stderr: string): SignetRun {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  let records: SignetRecord[];
  try {
    records = lines.map((line) => JSON.parse(line) as SignetRecord);
  } catch {
    throw new Error(`signet verify printed something that is not JSON lines (exit ${exitCode}): ${stdout.slice(0, 300)}${stderr.slice(0, 300)}`);
  }
  return { exitCode, records, stdout, stderr };
}

/** `signet verify --format jsonl` over the fixture's registry, exactly as a user runs it. */
export function signetVerify(fx: Fixtures, repo: FixtureRepo, revisions: string[]): SignetRun {
  const run = spawnSync(process.execPath, signetArgs(fx, repo, revisions), {
    env: gitEnv(fx),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseSignetRun(run.status, run.stdout, run.stderr);
}

/** The same, without blocking: lets a test file run several signet processes side by side. */
export function signetVerifyAsync(fx: Fixtures, repo: FixtureRepo, revisions: string[]): Promise<SignetRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, signetArgs(fx, repo, revisions), { env: gitEnv(fx) });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolvePromise(parseSignetRun(code, Buffer.concat(stdout).toString('utf8'), Buffer.concat(stderr).toString('utf8')));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

/** Raw bytes of many objects through one `git cat-file --batch`, keyed by object id. */
export function catFileBatch(fx: Fixtures, repo: FixtureRepo, ids: string[]): Map<string, { type: string; body: Buffer }> {
  const out = execFileSync('git', ['cat-file', '--batch'], {
    cwd: fx.repoDir(repo),
    env: gitEnv(fx),
    input: `${ids.join('\n')}\n`,
    maxBuffer: 256 * 1024 * 1024,
  });
  const objects = new Map<string, { type: string; body: Buffer }>();
  let at = 0;
  for (const id of ids) {
    const headerEnd = out.indexOf(0x0a, at);
    const [objectId = '', type = '', size = ''] = out.subarray(at, headerEnd).toString('utf8').split(' ');
    if (type === 'missing' || objectId !== id) throw new Error(`git cat-file --batch: ${id} is missing`);
    const bodyStart = headerEnd + 1;
    objects.set(id, { type, body: out.subarray(bodyStart, bodyStart + Number(size)) });
    at = bodyStart + Number(size) + 1;
  }
  return objects;
}

/**
 * The kind of signature an object carries, read from its raw bytes: what `format` must say.
 * Commits: their own `gpgsig` / `gpgsig-sha256` header (a `mergetag` header's signature belongs to
 * the merged tag, not to the commit). Tags: the signature trailing the message.
 */
export function signatureFormatOf(rawObject: string, type: 'commit' | 'tag'): 'openpgp' | 'ssh' | 'none' {
  let signature = rawObject;
  if (type === 'commit') {
    const headers = rawObject.slice(0, rawObject.indexOf('\n\n'));
    const own = /^gpgsig(?:-sha256)? (.*)$/m.exec(headers);
    signature = own?.[1] ?? '';
  }
  if (signature.includes('-----BEGIN SSH SIGNATURE-----')) return 'ssh';
  if (signature.includes('-----BEGIN PGP SIGNATURE-----')) return 'openpgp';
  return 'none';
}

/**
 * git's letter for a tag, read from `git verify-tag --raw`: git has no `%G?` for tags, so this
 * maps gpg's exclusive status line (or ssh-keygen's words) the way git's own parser does.
 */
export function gitTagLetter(check: GitTagCheck): string {
  if (/no signature found/.test(check.output)) return 'N';
  const gpgStatus = /^\[GNUPG:\] (GOODSIG|EXPSIG|EXPKEYSIG|REVKEYSIG|BADSIG|ERRSIG) /m.exec(check.output)?.[1];
  const byGpgStatus: Record<string, string> = { EXPSIG: 'X', EXPKEYSIG: 'Y', REVKEYSIG: 'R', BADSIG: 'B', ERRSIG: 'E' };
  if (gpgStatus === 'GOODSIG') return check.ok ? 'G' : 'U';
  if (gpgStatus !== undefined) return byGpgStatus[gpgStatus] ?? 'E';
  if (/^Good "git" signature for /m.test(check.output)) return 'G';
  if (/^Good "git" signature with /m.test(check.output)) return 'U';
  return 'B';
}
