/**
 * Differential test for what real public histories hold and fixtures usually do not (issue 13):
 * OpenTimestamps blocks after the PGP signature, signed tags of blobs and trees, shallow clones.
 * Every object here is made by real git and gpg; signet's verdicts and commit lists are laid
 * beside `git log --pretty=%G?`, `git verify-tag` and `git rev-list` on the same repository.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpgHome } from '../../helpers/openpgp-gpg.ts';
import { tempDir } from '../../helpers/git.ts';

const signetBin = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'signet.js');
let home: GpgHome;
let work: { path: string; remove: () => void };
let repo: string;
let keyring: string;
let fingerprint: string;
const ids: Record<string, string> = {};

function env(): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^(GIT_|GNUPG|GPG_)/.test(name)) clean[name] = value;
  return {
    ...clean,
    GNUPGHOME: home.dir,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
    TZ: 'UTC',
    GIT_AUTHOR_NAME: 'Alice',
    GIT_AUTHOR_EMAIL: 'alice@example.com',
    GIT_COMMITTER_NAME: 'Alice',
    GIT_COMMITTER_EMAIL: 'alice@example.com',
  };
}

function git(cwd: string, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd, env: env(), encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trimEnd();
}

interface SignetRecord {
  commit?: string;
  tag?: string;
  status: string;
  reason: string;
  object?: string;
}

function signet(cwd: string, args: string[]): { code: number | null; records: SignetRecord[]; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [signetBin, 'verify', '--repo', cwd, '--keyring', keyring, ...args], { env: env(), encoding: 'utf8' });
  const records = args.includes('jsonl')
    ? run.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SignetRecord)
    : [];
  return { code: run.status, records, stdout: run.stdout, stderr: run.stderr };
}

/** git's own letters for the commits of `revisions`. */
function gitLetters(cwd: string, revisions: string[]): Map<string, string> {
  return new Map(
    git(cwd, ['log', '--format=%H %G?', ...revisions])
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}

/** An OpenTimestamps proof block as ots-git-gpg-wrapper appends it (the proof bytes are filler). */
const OTS_BLOCK = [
  '-----BEGIN OPENTIMESTAMPS GIT TIMESTAMP-----',
  '',
  'AE9wZW5UaW1lc3RhbXBzAABQcm9vZgC/ieLohOiSlAEIOCbHy2Cu0mjXzGxz3wQ5DsXEcx3tq6Aq',
  '8P+yaSW2ABDwELWsQdsRMbVt0fEwrLvOTT8I8CAl4ub/Nzy0a2BZhjI+LSfmAPGHjT3mYkMItO0I',
  '0Tf6fwjx8QRf7bOh8AjPZa+N1tR1RwD/AA==',
  '-----END OPENTIMESTAMPS GIT TIMESTAMP-----',
];

/** Rewrites a signed commit with `extra` lines appended to its gpgsig header; returns the new id. */
function appendToSignature(cwd: string, commit: string, extra: string[]): string {
  const raw = git(cwd, ['cat-file', 'commit', commit]) + '\n';
  const headerEnd = raw.indexOf('\n\n');
  const headers = raw.slice(0, headerEnd);
  if (!/^gpgsig /m.test(headers)) throw new Error(`${commit} is not signed`);
  const rewritten = `${headers}\n${extra.map((line) => ` ${line}`).join('\n')}${raw.slice(headerEnd)}`;
  return git(cwd, ['hash-object', '-t', 'commit', '-w', '--stdin'], rewritten);
}

/** The commit with its gpgsig header's value replaced by these lines (the first on the header line). */
function withSignatureValue(cwd: string, commit: string, lines: string[]): string {
  const raw = git(cwd, ['cat-file', 'commit', commit]) + '\n';
  const headerEnd = raw.indexOf('\n\n');
  const kept = raw
    .slice(0, headerEnd)
    .split('\n')
    .filter((line, index, all) => !line.startsWith('gpgsig ') && !(line.startsWith(' ') && all.slice(0, index).some((before) => before.startsWith('gpgsig '))));
  const header = [`gpgsig ${lines[0]}`, ...lines.slice(1).map((line) => ` ${line}`)].join('\n');
  return git(cwd, ['hash-object', '-t', 'commit', '-w', '--stdin'], `${kept.join('\n')}\n${header}${raw.slice(headerEnd)}`);
}

function commit(cwd: string, name: string, sign: boolean, at: number): string {
  writeFileSync(join(cwd, `${name}.txt`), `${name}\n`);
  git(cwd, ['add', `${name}.txt`]);
  const date = `${at} +0000`;
  execFileSync('git', ['-c', `user.signingkey=${fingerprint}`, 'commit', '-q', ...(sign ? ['-S'] : []), '-m', name], {
    cwd,
    env: { ...env(), GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
  return git(cwd, ['rev-parse', 'HEAD']);
}

beforeAll(async () => {
  home = await GpgHome.create();
  work = tempDir('histories');
  fingerprint = await home.generate('Alice <alice@example.com>', 'ed25519', 'sign', '0', 1_600_000_000);
  await home.trustUltimately([fingerprint]);
  keyring = join(work.path, 'registry.asc');
  writeFileSync(keyring, await home.exportPublic(fingerprint));
  repo = join(work.path, 'repo');
  git(work.path, ['init', '-q', '-b', 'main', repo]);
  let at = 1_700_000_000;
  // Ten commits, signed and unsigned, then the timestamped ones on branches.
  for (let index = 0; index < 10; index++) ids[`c${index}`] = commit(repo, `c${index}`, index % 3 !== 1, (at += 60));
  const signedTip = ids.c9!;
  ids.ots = appendToSignature(repo, signedTip, OTS_BLOCK);
  git(repo, ['branch', 'ots', ids.ots]);
  // A second PGP signature after the first stays an error; so does one after a timestamp block.
  const signatureLines = git(repo, ['cat-file', 'commit', signedTip])
    .split('\n\n')[0]!
    .split('\n')
    .filter((line) => !/^(tree|parent|author|committer) /.test(line))
    .map((line) => line.replace(/^(gpgsig)? /, ''));
  ids.twoSignatures = appendToSignature(repo, signedTip, signatureLines);
  git(repo, ['branch', 'two-signatures', ids.twoSignatures]);
  ids.otsThenSignature = appendToSignature(repo, signedTip, [...OTS_BLOCK, ...signatureLines]);
  git(repo, ['branch', 'ots-then-signature', ids.otsThenSignature]);
  ids.otsBeforeSignature = withSignatureValue(repo, signedTip, [...OTS_BLOCK, ...signatureLines]);
  git(repo, ['branch', 'ots-before-signature', ids.otsBeforeSignature]);
  // Signed tags of a blob (git.git's junio-gpg-pub) and of a tree; a tag with a timestamp block.
  writeFileSync(join(work.path, 'key.asc'), await home.exportPublic(fingerprint));
  const blob = git(repo, ['hash-object', '-w', join(work.path, 'key.asc')]);
  git(repo, ['-c', `user.signingkey=${fingerprint}`, 'tag', '-s', '-m', 'the signing key', 'junio-gpg-pub', blob]);
  git(repo, ['-c', `user.signingkey=${fingerprint}`, 'tag', '-s', '-m', 'a tree', 'tree-tag', `${signedTip}^{tree}`]);
  git(repo, ['tag', '-a', '-m', 'not signed', 'unsigned-blob-tag', blob]);
  git(repo, ['-c', `user.signingkey=${fingerprint}`, 'tag', '-s', '-m', 'release', 'v1', signedTip]);
  const tagRaw = git(repo, ['cat-file', 'tag', 'v1']) + '\n';
  ids.tagOts = git(repo, ['hash-object', '-t', 'tag', '-w', '--stdin'], `${tagRaw}${OTS_BLOCK.join('\n')}\n`);
  git(repo, ['update-ref', 'refs/tags/v1-ots', ids.tagOts]);
}, 120_000);

afterAll(async () => {
  await home?.dispose();
  work?.remove();
});

describe('a timestamp block after the signature (OpenTimestamps)', () => {
  it('is read as gpg reads it: the first PGP block counts, the timestamp is ignored', () => {
    const theirs = gitLetters(repo, ['-1', 'ots', 'two-signatures', 'ots-then-signature']);
    const ours = signet(repo, ['--format', 'jsonl', 'ots', '^ots~1']);
    expect(theirs.get(ids.ots!)).toBe('G');
    expect(ours.records).toEqual([expect.objectContaining({ commit: ids.ots, status: 'G', reason: 'valid' })]);
  });

  it('still refuses a second PGP signature, also one hidden after a timestamp block', () => {
    for (const name of ['twoSignatures', 'otsThenSignature'] as const) {
      const ours = signet(repo, ['--format', 'jsonl', ids[name]!, `^${ids[name]!}~1`]);
      expect(ours.records).toEqual([expect.objectContaining({ commit: ids[name], status: 'E', reason: 'malformed_signature' })]);
    }
  });

  it('refuses a timestamp block before the signature, as git does', () => {
    // git reads the signature's format from its first line: an OpenTimestamps block first is no
    // format it knows, and `git log %G?` stops with a fatal error; signet says E for that commit.
    const gitSays = spawnSync('git', ['log', '--format=%H %G?', '-1', 'ots-before-signature'], { cwd: repo, env: env(), encoding: 'utf8' });
    expect(gitSays.status).not.toBe(0);
    expect(gitSays.stderr).toMatch(/bad\/incompatible signature '-----BEGIN OPENTIMESTAMPS GIT TIMESTAMP-----/);
    const ours = signet(repo, ['--format', 'jsonl', 'ots-before-signature', '^ots-before-signature~1']);
    expect(ours.records).toEqual([expect.objectContaining({ commit: ids.otsBeforeSignature, status: 'E', reason: 'unknown_signature_type' })]);
  });

  it('agrees with git on a signed tag with a timestamp block', () => {
    const gitSays = spawnSync('git', ['verify-tag', 'v1-ots'], { cwd: repo, env: env(), encoding: 'utf8' });
    expect(gitSays.status).toBe(0);
    const ours = signet(repo, ['--format', 'jsonl', 'v1-ots', `^v1-ots~1`]);
    expect(ours.records[0]).toMatchObject({ tag: ids.tagOts, status: 'G' });
  });
});

describe('signed tags of blobs and trees', () => {
  it.each(['junio-gpg-pub', 'tree-tag'])('verifies %s as git verify-tag does, with no commits to list', (name) => {
    const gitSays = spawnSync('git', ['verify-tag', name], { cwd: repo, env: env(), encoding: 'utf8' });
    expect(gitSays.status).toBe(0);
    const ours = signet(repo, ['--format', 'jsonl', name]);
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    expect(ours.records).toEqual([expect.objectContaining({ tag: git(repo, ['rev-parse', name]), status: 'G' })]);
    const text = signet(repo, [name]);
    expect(text.stdout).toMatch(/1 tag/);
  });

  it('fails the run when such a tag is not signed, as it does for a tag of a commit', () => {
    expect(spawnSync('git', ['verify-tag', 'unsigned-blob-tag'], { cwd: repo, env: env(), encoding: 'utf8' }).status).not.toBe(0);
    const ours = signet(repo, ['--format', 'jsonl', 'unsigned-blob-tag']);
    expect(ours.records).toEqual([expect.objectContaining({ status: 'N' })]);
    expect(ours.code).toBe(1);
  });

  it('still refuses a blob named without a tag', () => {
    const blob = git(repo, ['rev-parse', 'junio-gpg-pub^{}']);
    const ours = signet(repo, ['--format', 'jsonl', blob]);
    expect(ours.code).toBe(2);
    expect(ours.stderr).toMatch(/not a commit/);
  });
});

describe('shallow clones', () => {
  it('walks to the shallow boundary as git does and says the history was cut', () => {
    const clone = join(work.path, 'shallow');
    git(work.path, ['clone', '-q', '--depth', '3', '--branch', 'main', `file://${repo}`, clone]);
    const boundary = git(clone, ['rev-parse', 'HEAD~2']);
    expect(git(clone, ['rev-parse', '--is-shallow-repository'])).toBe('true');
    const gitList = git(clone, ['rev-list', 'HEAD']).split('\n');
    expect(gitList).toHaveLength(3);
    const letters = gitLetters(clone, ['HEAD']);
    const ours = signet(clone, ['--format', 'jsonl', 'HEAD']);
    expect(ours.stderr).toBe('signet: note: history cut at 1 shallow commit (shallow clone: older commits not checked)\n');
    expect(ours.records.map((record) => record.commit)).toEqual(gitList);
    for (const record of ours.records) expect(record.status).toBe(letters.get(record.commit!));
    expect(ours.records.at(-1)?.commit).toBe(boundary);
    const json = JSON.parse(signet(clone, ['--format', 'json', 'HEAD']).stdout) as { summary: { shallowBoundary?: number } };
    expect(json.summary.shallowBoundary).toBe(1);
    expect(signet(clone, ['HEAD']).stdout).toMatch(/history cut at 1 shallow commit/);
  });

  it('bounds the walk at a shallow commit whose parents are present, as git does', () => {
    const copy = join(work.path, 'grafted');
    git(work.path, ['clone', '-q', '--no-local', '--branch', 'main', repo, copy]);
    const boundary = git(copy, ['rev-parse', 'HEAD~4']);
    writeFileSync(join(copy, '.git', 'shallow'), `${boundary}\n`);
    const parent = /^parent ([0-9a-f]+)$/m.exec(git(copy, ['cat-file', 'commit', boundary]))![1]!;
    expect(git(copy, ['cat-file', '-t', parent])).toBe('commit');
    const gitList = git(copy, ['rev-list', 'HEAD']).split('\n');
    expect(gitList).toHaveLength(5);
    const ours = signet(copy, ['--format', 'jsonl', 'HEAD']);
    expect(ours.records.map((record) => record.commit)).toEqual(gitList);
    // Beyond the boundary git names nothing, and neither do we.
    expect(spawnSync('git', ['rev-parse', '--verify', 'HEAD~5'], { cwd: copy, env: env() }).status).not.toBe(0);
    expect(signet(copy, ['--format', 'jsonl', 'HEAD~5']).code).toBe(2);
  });

  it('leaves the pre-receive hook of a shallow repository working: it checks what a push brings', () => {
    const server = join(work.path, 'shallow-server.git');
    git(work.path, ['clone', '-q', '--bare', '--depth', '2', '--branch', 'main', `file://${repo}`, server]);
    expect(git(server, ['rev-parse', '--is-shallow-repository'])).toBe('true');
    writeFileSync(
      join(work.path, 'hook-policy.yml'),
      `version: 1\nkeys:\n  openpgp: [${keyring}]\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n    accept: [G]\n`,
    );
    const install = spawnSync(process.execPath, [signetBin, 'hook', 'install', '--script', '--repo', server, '--policy', join(work.path, 'hook-policy.yml')], {
      env: env(),
      encoding: 'utf8',
    });
    expect(install.status).toBe(0);
    const pusher = join(work.path, 'pusher');
    git(work.path, ['clone', '-q', '--no-local', '--branch', 'main', repo, pusher]);
    const before = git(server, ['rev-parse', 'main']);
    const signed = commit(pusher, 'pushed-signed', true, 1_800_000_000);
    const accepted = spawnSync('git', ['push', server, 'main'], { cwd: pusher, env: env(), encoding: 'utf8' });
    expect(accepted.stderr).toMatch(/1 new commit verified/);
    expect(accepted.status).toBe(0);
    expect(git(server, ['rev-parse', 'main'])).toBe(signed);
    commit(pusher, 'pushed-unsigned', false, 1_800_000_060);
    const refused = spawnSync('git', ['push', server, 'main'], { cwd: pusher, env: env(), encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(git(server, ['rev-parse', 'main'])).toBe(signed);
    expect(before).not.toBe(signed);
  });

  it('refuses a shallow file it cannot read, naming the line', () => {
    const copy = join(work.path, 'bad-shallow');
    git(work.path, ['clone', '-q', '--no-local', '--branch', 'main', repo, copy]);
    writeFileSync(join(copy, '.git', 'shallow'), `${ids.c5}\nnot-an-id\n`);
    expect(spawnSync('git', ['rev-list', 'HEAD'], { cwd: copy, env: env(), encoding: 'utf8' }).stderr).toMatch(/bad shallow line/);
    const ours = signet(copy, ['--format', 'jsonl', 'HEAD']);
    expect(ours.code).toBe(2);
    expect(ours.stderr).toMatch(/shallow, line 2: not a sha1 commit id/);
  });
});
