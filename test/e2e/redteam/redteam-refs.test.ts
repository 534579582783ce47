import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../../helpers/git.ts';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';
import type { HookServer } from '../../helpers/hook-server.ts';
import type { GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * forbid_force_push on refs outside refs/heads (where git itself lets a ref name any object):
 * moving a protected ref from a commit to a blob or tree throws its history away as surely as a
 * forced rewind. Real `git push` into a bare repository with the hook.
 */
const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: ["refs/meta/*"]
    require_signed_commits: true
    forbid_force_push: true
`;

describe('forbid_force_push against non-commit objects', () => {
  let fixture: HookFixture;
  let alice: GpgIdentity;

  beforeAll(() => {
    fixture = makeHookFixture('redteam-refs', POLICY, ['Alice']);
    alice = fixture.people[0]!;
  }, 60_000);
  afterAll(() => fixture?.remove());

  const fresh = (name: string): HookServer =>
    fixture.fresh(name, { file: 'project.config', content: 'x\n', message: 'config', push: ['-q', 'origin', 'HEAD:refs/meta/config'] });

  for (const kind of ['blob', 'tree'] as const) {
    it(`refuses moving a protected ref from a commit to a ${kind}`, () => {
      const host = fresh(`to-${kind}`);
      const target = kind === 'blob' ? git(host.work, ['rev-parse', 'HEAD:project.config']) : git(host.work, ['rev-parse', 'HEAD^{tree}']);
      const before = host.refs();
      const result = host.push(['-f', 'origin', `${target}:refs/meta/config`]);
      expect(result.code, result.stderr).not.toBe(0);
      expect(result.stderr).toMatch(/force-pushing refs\/meta\/config is forbidden/);
      expect(host.refs()).toBe(before);
    });
  }

  it('still accepts a fast-forward of the protected ref', () => {
    const host = fresh('ff');
    fixture.commit(host, alice, 'project.config', 'y\n', 'config 2');
    const result = host.push(['-q', 'origin', 'HEAD:refs/meta/config']);
    expect(result.code, result.stderr).toBe(0);
  });
});

/**
 * A symbolic ref's rule, when the push names its target: refs/heads/master → refs/heads/main
 * (left by a default-branch rename), master's rule allows only alice, main's any registered
 * key. A push through master is judged under both; a push straight to main showed bob's
 * commit as master's tip without master's rule ever being asked.
 */
const ALIAS_POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: [refs/heads/master]
    require_signed_commits: true
    signers: [alice@example.com]
  - refs: [refs/heads/main]
    require_signed_commits: true
`;

describe("a symbolic ref's rule when the target is pushed directly", () => {
  let fixture: HookFixture;
  let alice: GpgIdentity;
  let bob: GpgIdentity;

  beforeAll(() => {
    fixture = makeHookFixture('redteam-alias', ALIAS_POLICY, ['Alice', 'Bob']);
    alice = fixture.people[0]!;
    bob = fixture.people[1]!;
  }, 60_000);
  afterAll(() => fixture?.remove());

  function fresh(name: string): HookServer {
    const host = fixture.fresh(name, { file: 'a.txt', content: 'a\n' });
    host.onServer(['symbolic-ref', 'refs/heads/master', 'refs/heads/main']);
    return host;
  }

  it("refuses bob's commit pushed straight to main while master (alias of main) allows only alice", () => {
    const host = fresh('direct');
    fixture.commit(host, bob, 'b.txt', 'b\n', 'bob');
    const before = host.refs();
    const result = host.push(['origin', 'main']);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(/alice@example\.com/);
    expect(host.refs()).toBe(before);
  });

  it("accepts alice's commit pushed straight to main", () => {
    const host = fresh('direct-ok');
    fixture.commit(host, alice, 'c.txt', 'c\n', 'alice');
    const result = host.push(['-q', 'origin', 'main']);
    expect(result.code, result.stderr).toBe(0);
  });

  it('refuses bob creating main while master already points at it (a dangling alias)', () => {
    const host = fixture.serve('dangling');
    host.onServer(['symbolic-ref', 'refs/heads/master', 'refs/heads/main']);
    fixture.commit(host, bob, 'd.txt', 'd\n', 'bob');
    const result = host.push(['origin', 'main']);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(/alice@example\.com/);
  });
});
