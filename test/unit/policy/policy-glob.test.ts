import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globMatches, globProblem, parsePolicy, rulesForRef } from '../../../src/core/policy/index.ts';

describe('ref patterns', () => {
  const cases: Array<[string, string, boolean]> = [
    ['refs/heads/main', 'refs/heads/main', true],
    ['refs/heads/main', 'refs/heads/main2', false],
    ['refs/heads/main', 'refs/heads/main/x', false],
    ['refs/heads/release/*', 'refs/heads/release/1.0', true],
    ['refs/heads/release/*', 'refs/heads/release/1.0/hotfix', false],
    ['refs/heads/release/*', 'refs/heads/release', false],
    ['refs/heads/release/**', 'refs/heads/release/1.0/hotfix', true],
    ['refs/heads/release/**', 'refs/heads/release', false],
    ['refs/heads/**/main', 'refs/heads/main', true],
    ['refs/heads/**/main', 'refs/heads/a/b/main', true],
    ['refs/heads/**/main', 'refs/heads/amain', false],
    ['refs/**', 'refs/tags/v1', true],
    ['refs/tags/v*', 'refs/tags/v1.2.3', true],
    ['refs/tags/v*', 'refs/tags/x1', false],
    ['refs/tags/v[0-9]*', 'refs/tags/v2', true],
    ['refs/tags/v[0-9]*', 'refs/tags/vx', false],
    ['refs/tags/v[!0-9]*', 'refs/tags/vx', true],
    ['refs/tags/v[!0-9]*', 'refs/tags/v2', false],
    ['refs/heads/?', 'refs/heads/a', true],
    ['refs/heads/?', 'refs/heads/ab', false],
    ['refs/heads/a\\*', 'refs/heads/a*', true],
    ['refs/heads/a\\*', 'refs/heads/ab', false],
    ['refs/heads/a+b', 'refs/heads/a+b', true],
    ['refs/heads/a+b', 'refs/heads/aab', false],
    ['refs/heads/a.b', 'refs/heads/axb', false],
  ];
  for (const [pattern, ref, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${ref}`, () => {
      expect(globProblem(pattern, 'ref')).toBeUndefined();
      expect(globMatches(pattern, 'ref', ref)).toBe(expected);
    });
  }
});

describe('path patterns', () => {
  const cases: Array<[string, string, boolean]> = [
    ['.github/workflows/**', '.github/workflows/ci.yml', true],
    ['.github/workflows/**', '.github/workflows/sub/x.yml', true],
    ['.github/workflows/**', '.github/CODEOWNERS', false],
    // A plain directory name covers everything beneath it, so it cannot silently protect nothing.
    ['.github/workflows', '.github/workflows/ci.yml', true],
    ['.github/workflows/', '.github/workflows/ci.yml', true],
    ['.github/workflows', '.github/workflows-old/ci.yml', false],
    ['*.md', 'README.md', true],
    ['*.md', 'docs/README.md', false],
    ['**/*.md', 'docs/README.md', true],
    ['**/*.md', 'README.md', true],
    ['src/**/secret*', 'src/a/b/secret.ts', true],
    ['src/**/secret*', 'src/secret.ts', true],
    ['src/**/secret*', 'lib/secret.ts', false],
    ['**', 'anything/at/all', true],
  ];
  for (const [pattern, file, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${file}`, () => {
      expect(globMatches(pattern, 'path', file)).toBe(expected);
    });
  }
});

describe('rulesForRef', () => {
  const policy = parsePolicy(
    `version: 1
rules:
  - refs: [refs/heads/main, "refs/heads/release/*"]
    forbid_force_push: true
  - refs: ["refs/heads/**"]
    forbid_deletion: true
  - refs: ["refs/tags/v*"]
    require_signed_tags: true
`,
    'p.yml',
  );

  it('returns every matching rule, in policy order', () => {
    expect(rulesForRef(policy, 'refs/heads/main').map((rule) => rule.index)).toEqual([0, 1]);
    expect(rulesForRef(policy, 'refs/heads/release/2').map((rule) => rule.index)).toEqual([0, 1]);
    expect(rulesForRef(policy, 'refs/heads/feature/x').map((rule) => rule.index)).toEqual([1]);
    expect(rulesForRef(policy, 'refs/tags/v1').map((rule) => rule.index)).toEqual([2]);
    expect(rulesForRef(policy, 'refs/tags/x1')).toEqual([]);
    expect(rulesForRef(policy, 'refs/notes/commits')).toEqual([]);
  });
});

/*
 * git itself is the reference. A path pattern means what the same pattern, anchored with a
 * leading '/', means in .gitignore (wildmatch with pathname semantics; a match on a directory
 * covers everything beneath it), so `git check-ignore` must select exactly the same files.
 * Ref globs must select what `git for-each-ref PATTERN` selects.
 */
describe('agrees with git', () => {
  let dir: string;
  const files = [
    'README.md',
    'a/x.md',
    'a/b/y.md',
    'a/b/c/z.md',
    'ab/x.txt',
    'b/a/x.md',
    'docs/readme',
    'docs.txt',
    '.github/workflows/ci.yml',
    '.github/CODEOWNERS',
    'a.b/c',
    'x/y/a',
    'xa/yb',
    'a*b',
    'c/ab',
  ];
  const refs = [
    'refs/heads/main',
    'refs/heads/ab',
    'refs/heads/a/b',
    'refs/heads/a/c/b',
    'refs/heads/b/a',
    'refs/heads/b/b/b',
    'refs/heads/release/1',
    'refs/heads/release/2/x',
    'refs/heads/releasex',
    'refs/tags/v1',
    'refs/tags/v1.0',
    'refs/tags/x',
  ];
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } });

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'signet-policy-glob-'));
    git('init', '-q');
    for (const file of files) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), file);
    }
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'files');
    const head = git('rev-parse', 'HEAD').trim();
    for (const ref of refs) git('update-ref', ref, head);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const component = fc.constantFrom('a', 'b', 'c', '*', '?', '**', 'a*', '*a', '*.md', '[ab]', '[!a]', 'x?', 'docs', '.github', 'a\\*b');

  it('path globs select what git check-ignore selects for the anchored pattern', () => {
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 4 }), (components) => {
        const pattern = components.join('/');
        const ours = files.filter((file) => globMatches(pattern, 'path', file)).sort();
        writeFileSync(path.join(dir, '.git', 'info', 'exclude'), `/${pattern}\n`);
        let output = '';
        try {
          output = execFileSync('git', ['check-ignore', '--no-index', '--stdin', '-z'], { cwd: dir, input: files.join('\0'), encoding: 'utf8' });
        } catch (error) {
          // Exit status 1: nothing is ignored.
          if ((error as { status?: number }).status !== 1) throw error;
        }
        const theirs = output.split('\0').filter(Boolean).sort();
        expect(ours, pattern).toEqual(theirs);
      }),
      { numRuns: 100 },
    );
  });

  it('ref globs select what git for-each-ref selects', () => {
    const refComponent = fc.constantFrom('a', 'b', '*', '?', '**', 'a*', 'rel*', 'release', 'v*', 'v[0-9]*', 'main', '[ab]');
    fc.assert(
      fc.property(fc.constantFrom('refs/heads', 'refs/tags', 'refs'), fc.array(refComponent, { minLength: 1, maxLength: 3 }), (prefix, components) => {
        const pattern = `${prefix}/${components.join('/')}`;
        // for-each-ref treats a pattern without wildcards as a prefix; we match whole names.
        fc.pre(/[*?[]/.test(pattern));
        const ours = refs.filter((ref) => globMatches(pattern, 'ref', ref)).sort();
        const theirs = git('for-each-ref', '--format=%(refname)', pattern)
          .split('\n')
          .filter((ref) => refs.includes(ref))
          .sort();
        expect(ours, pattern).toEqual(theirs);
      }),
      { numRuns: 80 },
    );
  });
});
