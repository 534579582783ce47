/**
 * Differential test: `signet verify` against git itself (gpg 2.2 and ssh-keygen underneath), on
 * repositories made by real `git commit -S` / `git tag -s` (fixtures/make-fixtures.sh).
 *
 * The first block checks the fixture: that git really says what each case's name promises. The
 * second lays signet's verdicts beside git's, commit by commit, and signet's commit sets beside
 * `git rev-list`'s.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FixtureRepo,
  type Fixtures,
  type SignetRun,
  allRefs,
  catFileBatch,
  git,
  gitRevList,
  gitStatuses,
  gitTagLetter,
  gitVerifyCommitRaw,
  gitVerifyTag,
  makeFixtures,
  refsOf,
  signatureFormatOf,
  signetVerify,
  signetVerifyAsync,
} from '../../helpers/fixture-repos.ts';

/** What git says about each case: `%G?` for commits, the verify-tag verdict for tags. */
const GIT_PROMISES: Record<string, string> = {
  base: 'N',
  unsigned: 'N',
  'openpgp-rsa2048': 'G',
  'openpgp-rsa4096': 'G',
  'openpgp-ed25519': 'G',
  'openpgp-nistp256': 'G',
  'openpgp-nistp384': 'G',
  'openpgp-nistp521': 'G',
  'openpgp-subkey': 'G',
  'openpgp-unknown-key': 'E',
  'openpgp-revoked': 'R',
  'openpgp-sha1-digest': 'G',
  'openpgp-expired-key': 'Y',
  'openpgp-expired-signature': 'X',
  'openpgp-tampered': 'B',
  'openpgp-two-signatures': 'E',
  'ssh-ed25519': 'G',
  'ssh-ecdsa-p256': 'G',
  'ssh-rsa': 'G',
  'ssh-expired-key': 'U',
  'ssh-not-yet-valid': 'U',
  'ssh-revoked': 'B',
  'ssh-unknown-key': 'U',
  'ssh-wrong-namespace': 'B',
  'message-crlf-openpgp': 'G',
  'message-crlf-ssh': 'G',
  'message-latin1-openpgp': 'G',
  'message-latin1-ssh': 'G',
  tagged: 'N',
  'tag-openpgp': 'G',
  'tag-ssh': 'G',
  'tag-unsigned': 'N',
  'tag-openpgp-unknown-key': 'E',
  'tag-for-merge': 'G',
  'merge-unsigned': 'N',
  'merge-ssh': 'G',
  'merge-octopus': 'N',
  'merge-mergetag': 'G',
  main: 'N',
  'sha256-unsigned': 'N',
  'sha256-openpgp': 'G',
  'sha256-ssh': 'G',
  'sha256-openpgp-rsa': 'G',
  'sha256-unsigned-tip': 'N',
  'sha256-tag-openpgp': 'G',
};

/**
 * Where DESIGN.md says signet knows better than git. git checks SSH validity only through
 * `ssh-keygen -Y find-principals` at the committer time: a key outside its window is simply "not
 * found" and the signature falls back to "good, unknown key"; a revoked key fails `-Y verify` and
 * reads as a bad signature.
 */
const SIGNET_DIFFERS: Record<string, { git: string; signet: string }> = {
  'ssh-expired-key': { git: 'U', signet: 'Y' },
  'ssh-not-yet-valid': { git: 'U', signet: 'Y' },
  'ssh-revoked': { git: 'B', signet: 'R' },
};

const REPOS: FixtureRepo[] = ['repo', 'repo-sha256'];

let fx: Fixtures;

beforeAll(() => {
  fx = makeFixtures();
});

afterAll(() => {
  fx?.cleanup();
});

const gitLogs = new Map<FixtureRepo, ReturnType<typeof gitStatuses>>();
/** git's verdicts on every commit of a repository (computed once: each costs a gpg or ssh-keygen run). */
function gitSays(repo: FixtureRepo): ReturnType<typeof gitStatuses> {
  let statuses = gitLogs.get(repo);
  if (!statuses) {
    statuses = gitStatuses(fx, repo);
    gitLogs.set(repo, statuses);
  }
  return statuses;
}

function commitOf(name: string): string {
  return fx.caseNamed(name).commit;
}

describe('the fixture: git says what each case promises', () => {
  it('names a promise for every case and a case for every promise', () => {
    expect(fx.cases.map((c) => c.name).sort()).toEqual(Object.keys(GIT_PROMISES).sort());
  });

  it.each(REPOS)("%s: git log's status letter matches every commit case", (repo) => {
    const statuses = gitSays(repo);
    const cases = fx.cases.filter((c) => c.repo === repo && c.kind !== 'tag');
    expect(cases.length).toBeGreaterThan(3);
    const seen = Object.fromEntries(cases.map((c) => [c.name, statuses.get(c.commit)?.status]));
    const promised = Object.fromEntries(cases.map((c) => [c.name, GIT_PROMISES[c.name]]));
    expect(seen).toEqual(promised);
  });

  it('git verify-tag matches every tag case', () => {
    const tags = fx.cases.filter((c) => c.kind === 'tag');
    const seen = Object.fromEntries(tags.map((c) => [c.name, gitTagLetter(gitVerifyTag(fx, c.repo, c.ref))]));
    const promised = Object.fromEntries(tags.map((c) => [c.name, GIT_PROMISES[c.name]]));
    expect(seen).toEqual(promised);
    expect(gitVerifyTag(fx, 'repo', 'refs/tags/tag-openpgp').ok).toBe(true);
    expect(gitVerifyTag(fx, 'repo', 'refs/tags/tag-unsigned').ok).toBe(false);
  });

  it('the registry holds every OpenPGP key but the unknown one', () => {
    const listed = execFileSync('gpg', ['--batch', '--with-colons', '--show-keys', fx.keyring], { encoding: 'utf8' });
    const fingerprints = new Set(
      listed
        .split('\n')
        .filter((l) => l.startsWith('fpr:'))
        .map((l) => l.split(':')[9]),
    );
    for (const [who, fpr] of Object.entries(fx.fingerprints)) {
      expect([who, fingerprints.has(fpr)]).toEqual([who, who !== 'unknown']);
    }
  });

  it('the objects carry the oddities their names promise', () => {
    const raw = (name: string): string => git(fx, 'repo', ['cat-file', 'commit', commitOf(name)]);
    expect(raw('merge-mergetag')).toMatch(/^mergetag object [0-9a-f]{40}$/m);
    expect(raw('openpgp-two-signatures').match(/^gpgsig /gm)).toHaveLength(2);
    expect(raw('message-crlf-openpgp')).toContain('body line one\r\n');
    expect(raw('message-crlf-ssh')).toContain('body line one\r\n');
    const latin1 = execFileSync('git', ['cat-file', 'commit', commitOf('message-latin1-ssh')], { cwd: fx.repoDir('repo') });
    expect(latin1.toString('latin1')).toMatch(/^encoding ISO-8859-1$/m);
    expect(latin1.includes(Buffer.from('caf\xe9', 'latin1'))).toBe(true);
    expect(raw('openpgp-tampered')).toContain('altered after signing');
    const octopusParents = raw('merge-octopus').match(/^parent /gm);
    expect(octopusParents).toHaveLength(4);
    expect(gitRevList(fx, 'repo', ['--merges', 'main'])).toHaveLength(4);
  });

  it('gpg confirms the SHA-1 digest, the subkey signer and the past signing time', () => {
    // VALIDSIG <signing fpr> <date> <sig time> <sig expiry> <ver> <res> <pk algo> <hash algo> <class> <primary fpr>
    const validsig = (name: string): string[] => (/^\[GNUPG:\] VALIDSIG (.*)$/m.exec(gitVerifyCommitRaw(fx, 'repo', commitOf(name)))?.[1] ?? '').split(' ');
    expect(validsig('openpgp-sha1-digest')[7]).toBe('2');
    expect(validsig('openpgp-ed25519')[7]).toBe('8');
    const subkey = validsig('openpgp-subkey');
    expect([subkey[0], subkey[9]]).toEqual([fx.fingerprints['subkey-signing'], fx.fingerprints['subkey']]);
    const expired = gitVerifyCommitRaw(fx, 'repo', commitOf('openpgp-expired-key'));
    const signedAt = Number(validsig('openpgp-expired-key')[2]);
    const keyExpiredAt = Number(/^\[GNUPG:\] KEYEXPIRED (\d+)/m.exec(expired)?.[1]);
    expect(signedAt).toBeLessThan(keyExpiredAt);
    expect(keyExpiredAt).toBeLessThan(Date.now() / 1000);
  });

  it('the wrong-namespace signature is a good SSH signature in the "file" namespace', () => {
    const object = git(fx, 'repo', ['cat-file', 'commit', commitOf('ssh-wrong-namespace')]);
    const headerEnd = object.indexOf('\n\n');
    const lines = object.slice(0, headerEnd).split('\n');
    const start = lines.findIndex((l) => l.startsWith('gpgsig '));
    const sigLines = [lines[start]!.slice('gpgsig '.length)];
    for (const line of lines.slice(start + 1)) {
      if (!line.startsWith(' ')) break;
      sigLines.push(line.slice(1));
    }
    const payload = [...lines.slice(0, start), ...lines.slice(start + sigLines.length)].join('\n') + object.slice(headerEnd);
    const sigFile = `${fx.dir}/ns-check.sig`;
    writeFileSync(sigFile, `${sigLines.join('\n')}\n`);
    const check = (namespace: string): boolean => {
      try {
        execFileSync('ssh-keygen', ['-Y', 'check-novalidate', '-n', namespace, '-s', sigFile], { input: payload, stdio: ['pipe', 'ignore', 'ignore'] });
        return true;
      } catch {
        return false;
      }
    };
    expect([check('file'), check('git')]).toEqual([true, false]);
  });

  it('repo-sha256 is a SHA-256 repository signing with gpgsig-sha256', () => {
    expect(git(fx, 'repo-sha256', ['rev-parse', '--show-object-format']).trim()).toBe('sha256');
    const raw = git(fx, 'repo-sha256', ['cat-file', 'commit', commitOf('sha256-ssh')]);
    expect(raw).toMatch(/^gpgsig-sha256 -----BEGIN SSH SIGNATURE-----$/m);
  });
});

describe('signet verify agrees with git', () => {
  const RANGES: Array<[FixtureRepo, () => string[]]> = [
    ['repo', () => ['main']],
    ['repo', () => ['base..main']],
    ['repo', () => ['^case/merge-unsigned', 'main']],
    ['repo', () => ['case/openpgp-ed25519..main']],
    ['repo', () => [`${commitOf('merge-ssh')}..${commitOf('merge-mergetag')}`]],
    ['repo', () => [`^${commitOf('merge-octopus')}`, 'main']],
    ['repo', () => ['case/ssh-rsa', 'case/openpgp-rsa4096', '^base']],
    ['repo', () => ['case/merge-octopus..case/mergetag-topic']],
    ['repo', () => ['refs/tags/tag-for-merge']],
    ['repo-sha256', () => ['case/sha256-openpgp..case/sha256-unsigned-tip']],
    ['repo-sha256', () => ['case/sha256-ssh']],
  ];
  const ALL_GOOD: string[] = ['base..case/openpgp-ed25519', 'case/ssh-rsa', '^base'];
  const LINEAR: string[] = ['case/sha256-unsigned..case/sha256-unsigned-tip'];

  const runs = new Map<string, SignetRun>();
  const runKey = (repo: FixtureRepo, revisions: string[]): string => `${repo}\0${revisions.join('\0')}`;
  /** One signet run per repository and revision list, shared by the tests that read it. */
  function signet(repo: FixtureRepo, revisions: string[]): SignetRun {
    const key = runKey(repo, revisions);
    let run = runs.get(key);
    if (!run) {
      run = signetVerify(fx, repo, revisions);
      runs.set(key, run);
    }
    return run;
  }

  // Every signet process this block needs, a few side by side: each pays a Node start-up.
  beforeAll(async () => {
    const wanted: Array<[FixtureRepo, string[]]> = [
      ...REPOS.map((repo): [FixtureRepo, string[]] => [repo, allRefs(fx, repo)]),
      ...RANGES.map(([repo, revisions]): [FixtureRepo, string[]] => [repo, revisions()]),
      ['repo', ALL_GOOD],
      ['repo-sha256', LINEAR],
    ];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const [repo, revisions] = wanted[next++]!;
        runs.set(runKey(repo, revisions), await signetVerifyAsync(fx, repo, revisions));
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  });

  const commitRecords = (run: SignetRun) => run.records.filter((r) => r.tag === undefined);
  const tagRecords = (run: SignetRun) => run.records.filter((r) => r.tag !== undefined);

  it.each(REPOS)('%s: with every ref given, reports exactly the commits git rev-list lists, once each', (repo) => {
    const refs = allRefs(fx, repo);
    const run = signet(repo, refs);
    const commits = commitRecords(run).map((r) => r.commit);
    expect(new Set(commits).size).toBe(commits.length);
    expect([...commits].sort()).toEqual(gitRevList(fx, repo, refs).sort());
  });

  it.each(REPOS)("%s: every commit gets git's status letter, but where DESIGN.md says signet knows better", (repo) => {
    const run = signet(repo, allRefs(fx, repo));
    const gitVerdicts = gitSays(repo);
    const differs = new Map(
      Object.entries(SIGNET_DIFFERS)
        .filter(([name]) => fx.caseNamed(name).repo === repo)
        .map(([name, expected]) => [fx.caseNamed(name).commit, { name, ...expected }]),
    );
    const mismatches: string[] = [];
    for (const record of commitRecords(run)) {
      const gitStatus = gitVerdicts.get(record.commit ?? '')?.status;
      const exception = differs.get(record.commit ?? '');
      if (exception) {
        // The exception must really be one: git says what DESIGN.md says it says.
        expect([exception.name, gitStatus, record.status]).toEqual([exception.name, exception.git, exception.signet]);
      } else if (record.status !== gitStatus) {
        const name = fx.cases.find((c) => c.commit === record.commit)?.name ?? record.commit;
        mismatches.push(`${name}: git ${gitStatus} signet ${record.status} (${record.reason})`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(commitRecords(run).length).toBe(gitVerdicts.size);
  });

  it.each(REPOS)("%s: the key is the one git names (OpenPGP: git's long key ID ends the fingerprint)", (repo) => {
    const run = signet(repo, allRefs(fx, repo));
    const gitVerdicts = gitSays(repo);
    const mismatches: string[] = [];
    let compared = 0;
    for (const record of commitRecords(run)) {
      const gitKey = gitVerdicts.get(record.commit ?? '')?.key ?? '';
      if (gitKey === '') continue;
      compared += 1;
      const ok = gitKey.startsWith('SHA256:') ? record.key === gitKey : /^[0-9A-F]{40}$/.test(record.key ?? '') && record.key!.endsWith(gitKey.toUpperCase());
      if (!ok) mismatches.push(`${record.commit}: git ${gitKey} signet ${record.key}`);
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(repo === 'repo' ? 20 : 2);
  });

  it.each(REPOS)('%s: the format is the kind of signature the object carries', (repo) => {
    const run = signet(repo, allRefs(fx, repo));
    expect(run.records.length).toBe(gitSays(repo).size + fx.cases.filter((c) => c.repo === repo && c.kind === 'tag').length);
    const objects = catFileBatch(
      fx,
      repo,
      run.records.map((r) => r.tag ?? r.commit ?? ''),
    );
    for (const record of run.records) {
      const id = record.tag ?? record.commit ?? '';
      const type = record.tag === undefined ? 'commit' : 'tag';
      const object = objects.get(id);
      expect([id, object?.type]).toEqual([id, type]);
      expect([id, record.format]).toEqual([id, signatureFormatOf(object!.body.toString('latin1'), type)]);
    }
  });

  it.each(REPOS)("%s: each annotated tag given is reported once, with git verify-tag's verdict", (repo) => {
    const run = signet(repo, allRefs(fx, repo));
    const tagObjects = refsOf(fx, repo)
      .filter((ref) => ref.type === 'tag')
      .map((ref) => ({ ref: ref.name, id: ref.id }));
    expect(tagObjects.length).toBeGreaterThan(0);
    expect(
      tagRecords(run)
        .map((r) => r.tag)
        .sort(),
    ).toEqual(tagObjects.map((t) => t.id).sort());
    for (const { ref, id } of tagObjects) {
      const check = gitVerifyTag(fx, repo, ref);
      const record = tagRecords(run).find((r) => r.tag === id);
      expect([ref, record?.status]).toEqual([ref, gitTagLetter(check)]);
      expect([ref, record?.status === 'G']).toEqual([ref, check.ok]);
    }
  });

  it('exit status: 1 when some commit is not G, 0 for a range that is all G', () => {
    expect(signet('repo', allRefs(fx, 'repo')).exitCode).toBe(1);
    const allGood = signet('repo', ALL_GOOD);
    const gitLetters = gitStatuses(fx, 'repo', ALL_GOOD);
    expect([...gitLetters.values()].map((v) => v.status)).toEqual(['G', 'G']);
    expect(allGood.records.map((r) => r.status)).toEqual(['G', 'G']);
    expect(allGood.exitCode).toBe(0);
  });

  it.each(RANGES.map(([repo, revisions], i) => [i, repo, revisions] as const))(
    "range #%i in %s: the commit set equals git rev-list's",
    (_i, repo, revisions) => {
      const revs = revisions();
      const expected = gitRevList(fx, repo, revs);
      expect(expected.length).toBeGreaterThan(0);
      const run = signet(repo, revs);
      expect(run.exitCode === 0 || run.exitCode === 1).toBe(true);
      expect(
        commitRecords(run)
          .map((r) => r.commit)
          .sort(),
      ).toEqual([...expected].sort());
    },
  );

  it('a linear range comes newest first', () => {
    expect(commitRecords(signet('repo-sha256', LINEAR)).map((r) => r.commit)).toEqual(gitRevList(fx, 'repo-sha256', LINEAR));
  });
});
