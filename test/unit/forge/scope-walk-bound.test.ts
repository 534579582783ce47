/**
 * A check's walk is bounded by what it may judge (src/forge/decide.ts commitsInScope): whoever
 * opens a pull request chooses how many commits it brings, and the app walked and parsed all of
 * them before it looked at SIGNET_CHECK_MAX_COMMITS. Proved by the objects read: with the bound
 * the walk stops after twice the limit, without it every commit of the branch is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitsInScope } from '../../../src/forge/decide.ts';
import { ForgeError } from '../../../src/forge/forge-error.ts';
import { scopeOf } from '../../../src/forge/scope.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { makeSignedRepo, mallory, type SignedRepo } from '../../helpers/http-backend-repo.ts';

const LONG = 3000;
let repo: SignedRepo;
let longTip: string;
let shortTip: string;

beforeAll(() => {
  repo = makeSignedRepo('o/scope-bound');
  longTip = repo.commitUnsignedBulk('long', LONG, mallory, repo.heads.main);
  shortTip = repo.commitUnsignedBulk('short', 150, mallory, repo.heads.main);
}, 120_000);

afterAll(() => repo?.cleanup());

function scopeFor(tip: string) {
  const git = openRepository({ path: repo.bare, cwd: repo.bare, env: {} });
  const reads = { count: 0 };
  const read = git.objects.read.bind(git.objects);
  git.objects.read = (oid: string) => {
    reads.count++;
    return read(oid);
  };
  const scope = scopeOf([{ ref: 'refs/heads/topic', oldOid: repo.heads.main, newOid: tip, baseOid: repo.heads.main }], git, 'main');
  return { git, scope, reads };
}

describe('the scope walk of a check', () => {
  it('stops after twice SIGNET_CHECK_MAX_COMMITS and fails on the limit, having read a fraction of the branch', () => {
    const { git, scope, reads } = scopeFor(longTip);
    let thrown: unknown;
    try {
      commitsInScope(git, scope, 100);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ForgeError);
    expect((thrown as ForgeError).stage).toBe('limit');
    expect((thrown as Error).message).toBe(
      'more than 200 commits found, twice SIGNET_CHECK_MAX_COMMITS (100): the walk stopped there; split the change or raise the limit',
    );
    // The walk reads in steps of 1,024 commits: one step past the bound, far short of the branch.
    expect(reads.count).toBeLessThan(1500);
  });

  it('still lists a range under twice the limit whole, newest first, so the check can name its exact size', () => {
    const { git, scope } = scopeFor(shortTip);
    const commits = commitsInScope(git, scope, 100);
    expect(commits).toHaveLength(150);
    expect(commits[0]!.oid).toBe(shortTip);
    expect(commits.every((c) => c.committerEmail === mallory.email)).toBe(true);
  });

  it('walks a long branch whole when no bound is given (the hook and the CLI have their own)', () => {
    const { git, scope } = scopeFor(longTip);
    expect(commitsInScope(git, scope)).toHaveLength(LONG);
  });
});
