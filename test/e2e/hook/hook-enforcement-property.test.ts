import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../helpers/git.ts';
import { makeHookServer } from '../../helpers/hook-server.ts';
import { GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * Random sequences of pushes (creations, fast-forwards, force pushes, deletions, several refs
 * at once, through a symbolic ref) and of refs the forge writes without pre-receive, against a
 * server whose refs carry different rules. After every accepted push, each commit a protected
 * ref reaches that was not there at the start meets that ref's rule, as git itself sees it
 * (`git log --format=%G? %GP` with only the registry's keys); a refused push moved no ref.
 */
const POLICY = `version: 1
keys:
  openpgp: [registry.asc]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [alice@example.com]
    forbid_force_push: true
    forbid_deletion: true
  - refs: ["refs/heads/release/*"]
    require_signed_commits: true
    signers: [alice@example.com]
  - refs: ["refs/heads/feature/*"]
    require_signed_commits: true
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
`;

const REFS = [
  'refs/heads/main',
  'refs/heads/master',
  'refs/heads/release/1',
  'refs/heads/feature/1',
  'refs/heads/feature/2',
  'refs/heads/topic',
  'refs/tags/v1',
];
const POOL_SIZE = 12;

type Action =
  | { kind: 'push'; ref: string; commit: number; force: boolean }
  | { kind: 'two'; refs: [string, string]; commits: [number, number] }
  | { kind: 'delete'; ref: string }
  | { kind: 'forge'; ref: string; commit: number };

describe('pre-receive hook: random push sequences', () => {
  const dir = tempDir('hook-property');
  const pool = join(dir.path, 'pool');
  const policy = join(dir.path, 'policy.yml');
  const commits: string[] = [];
  /** What git says of each pool commit: status letter and primary key fingerprint. */
  const seen = new Map<string, { status: string; primary: string }>();
  let signerOf: Record<string, string> = {};
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let bob: GpgIdentity;

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    bob = gpg.createKey('Bob', 'bob@example.com');
    const mallory = gpg.createKey('Mallory', 'mallory@example.com');
    writeFileSync(join(dir.path, 'registry.asc'), alice.armoredPublicKey + bob.armoredPublicKey);
    writeFileSync(policy, POLICY);
    signerOf = { [alice.fingerprint]: 'alice', [bob.fingerprint]: 'bob' };

    // A fixed pool of commits: a root signed by alice, then commits on random earlier parents
    // (some merges), signed by alice, bob, mallory (not in the registry) or nobody.
    git(dir.path, ['init', '-q', '-b', 'main', pool]);
    const tree = git(pool, ['mktree'], { input: '' });
    const random = fc.sample(fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 3 }), fc.boolean()), { numRuns: POOL_SIZE, seed: 11 });
    const signers: Array<GpgIdentity | undefined> = [alice, bob, mallory, undefined];
    for (let i = 0; i < POOL_SIZE; i++) {
      const [p1, p2, who, merge] = random[i]!;
      const signer = i === 0 ? alice : signers[who];
      const parents = i === 0 ? [] : [...new Set([commits[p1 % i]!, ...(merge && i > 1 ? [commits[p2 % i]!] : [])])];
      const oid = git(
        pool,
        [
          ...(signer ? gpg.gitSigningConfig(signer) : []),
          'commit-tree',
          ...(signer ? ['-S'] : []),
          tree,
          ...parents.flatMap((p) => ['-p', p]),
          '-m',
          `pool ${i} by ${signer?.name ?? 'nobody'}`,
        ],
        {
          env: { ...gpg.env(), GIT_COMMITTER_DATE: `${1_700_000_000 + i * 60} +0000`, GIT_AUTHOR_DATE: `${1_700_000_000 + i * 60} +0000` },
        },
      );
      commits.push(oid);
      git(pool, ['update-ref', `refs/pool/${i}`, oid]);
    }
    // The oracle: git with a keyring holding only the registry's keys.
    const verifier = new GpgHome(join(dir.path, 'verifier'));
    verifier.gpg(['--import'], alice.armoredPublicKey + bob.armoredPublicKey);
    mkdirSync(verifier.home, { recursive: true });
    writeFileSync(join(verifier.home, 'gpg.conf'), 'trust-model always\n');
    for (const line of git(pool, ['log', '--no-walk=unsorted', '--format=%H %G? %GP', ...commits], { env: verifier.env() }).split('\n')) {
      const [oid, status, primary] = line.split(' ');
      seen.set(oid!, { status: status!, primary: primary ?? '' });
    }
  }, 120_000);
  afterAll(() => dir.remove());

  /** Does `oid` meet the rule of `ref`, as git sees its signature? */
  function meetsRule(ref: string, oid: string): boolean {
    const { status, primary } = seen.get(oid)!;
    if (status !== 'G') return false;
    if (ref === 'refs/heads/main' || ref.startsWith('refs/heads/release/')) return signerOf[primary] === 'alice';
    if (ref.startsWith('refs/heads/feature/')) return signerOf[primary] !== undefined;
    return true;
  }

  const ref = fc.constantFrom(...REFS);
  const commit = fc.nat({ max: POOL_SIZE - 1 });
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), ref, commit, force: fc.boolean() }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('two' as const), refs: fc.tuple(ref, ref).filter(([a, b]) => a !== b), commits: fc.tuple(commit, commit) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), ref }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('forge' as const),
        ref: fc.constantFrom('refs/pull/1/head', 'refs/merge-requests/2/head', 'refs/keep-around/x'),
        commit,
      }),
    },
  );

  it('keeps every protected ref to its rule, whatever the order of pushes', async () => {
    let run = 0;
    const tally = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 9 }), async (actions) => {
        run += 1;
        const host = makeHookServer(dir.path, `run${run}`, policy, { env: gpg.env() });
        git(host.work, ['fetch', '-q', pool, '+refs/pool/*:refs/pool/*']);
        expect(host.push(['-q', 'origin', `${commits[0]}:refs/heads/main`]).code).toBe(0);
        host.onServer(['symbolic-ref', 'refs/heads/master', 'refs/heads/main']);
        const start = commits[0]!;
        for (const step of actions) {
          if (step.kind === 'forge') {
            host.onServer(['fetch', '-q', host.work, `+refs/pool/${step.commit}:${step.ref}`]);
            continue;
          }
          const args =
            step.kind === 'push'
              ? [...(step.force ? ['-f'] : []), 'origin', `${commits[step.commit]}:${step.ref}`]
              : step.kind === 'two'
                ? ['-f', 'origin', `${commits[step.commits[0]]}:${step.refs[0]}`, `${commits[step.commits[1]]}:${step.refs[1]}`]
                : ['origin', `:${step.ref}`];
          const before = host.refs();
          const result = host.push(args);
          expect(result.stderr, JSON.stringify(step)).not.toMatch(/internal error/);
          if (result.code !== 0) {
            tally.refused += 1;
            expect(host.refs(), `refused ${JSON.stringify(step)} moved a ref`).toBe(before);
            continue;
          }
          tally.accepted += 1;
          for (const line of git(host.server, ['for-each-ref', '--format=%(refname)', 'refs/heads/']).split('\n')) {
            if (!/^refs\/heads\/(main|release\/|feature\/)/.test(line)) continue;
            const reached = git(host.server, ['rev-list', line, '--not', start]).split('\n').filter(Boolean);
            const bad = reached.filter((oid) => !meetsRule(line, oid));
            expect(bad, `after ${JSON.stringify(step)}: ${line} reaches commits its rule refuses`).toEqual([]);
          }
        }
      }),
      { numRuns: 10, seed: 20261204, endOnFailure: true },
    );
    console.log(
      `pushes: ${tally.accepted} accepted, ${tally.refused} refused; pool: ${[...seen.values()].map((v) => `${v.status}:${signerOf[v.primary] ?? '-'}`).join(' ')}`,
    );
    // Not vacuous: the sequences both got through and got refused.
    expect(tally.accepted).toBeGreaterThan(3);
    expect(tally.refused).toBeGreaterThan(3);
  }, 180_000);
});
