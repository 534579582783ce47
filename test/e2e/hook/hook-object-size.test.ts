/**
 * A pushed commit larger than the server's object limit (git config signet.maxObjectBytes) is
 * refused with one line naming it, and no ref moves: the hook never treats an object it would
 * not read as unsigned-and-skipped or as a pass. A real `git push` into a bare repository with
 * the hook installed; the commit is valid (git's index-pack takes it), only large.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../../helpers/git.ts';
import { makeHookFixture, type HookFixture } from '../../helpers/hook-fixture.ts';

const POLICY = `version: 1
keys:
  openpgp: [keys/registry.asc]
rules:
  - refs: ["refs/heads/*"]
    require_signed_commits: true
    signers: [alice@example.com]
`;

describe('hook: objects over the size limit', () => {
  let fixture: HookFixture;

  beforeAll(() => {
    fixture = makeHookFixture('hook-object-size', POLICY, ['Alice']);
  }, 60_000);
  afterAll(() => fixture?.remove());

  it('refuses a signed commit over signet.maxObjectBytes, naming it in one line, and accepts it under a larger limit', () => {
    const host = fixture.fresh('large');
    host.onServer(['config', 'signet.maxObjectBytes', '65536']);
    const before = host.refs();
    // 200 KB of message: valid, signed by a trusted key, over the 64 KiB limit.
    const alice = fixture.people[0]!;
    const message = join(fixture.dir, 'large-message.txt');
    writeFileSync(message, 'large\n\n' + 'words '.repeat(34_000));
    const identity = { GIT_AUTHOR_EMAIL: alice.email, GIT_COMMITTER_EMAIL: alice.email, GIT_AUTHOR_NAME: 'Alice', GIT_COMMITTER_NAME: 'Alice' };
    git(host.work, [...fixture.gpg.gitSigningConfig(alice), 'commit', '-q', '--allow-empty', '-S', '-F', message], {
      env: { ...identity, ...fixture.gpg.env() },
    });
    const oid = git(host.work, ['rev-parse', 'HEAD']);
    const refused = host.push(['-q', 'origin', 'main']);
    expect(refused.code).not.toBe(0);
    const lines = refused.stderr.split('\n').filter((line) => line.includes(oid));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^remote: signet: push rejected: object ${oid} \\(.*\\) declares \\d+ bytes, over the 65536 bytes`));
    expect(refused.stderr).not.toMatch(/internal error|accepted/);
    expect(host.refs()).toBe(before);

    host.onServer(['config', 'signet.maxObjectBytes', String(1024 * 1024)]);
    const accepted = host.push(['-q', 'origin', 'main']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(host.ref('refs/heads/main')).toBe(oid);
  }, 60_000);

  it('refuses a push when signet.maxObjectBytes is not a number (fails closed on its own configuration)', () => {
    const host = fixture.fresh('misconfigured');
    host.onServer(['config', 'signet.maxObjectBytes', '16MB']);
    fixture.commit(host, fixture.people[0], 'a.txt', 'a\n', 'small');
    const refused = host.push(['-q', 'origin', 'main']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/remote: signet: push rejected: git config signet.maxObjectBytes: '16MB' is not a positive whole number of bytes/);
  }, 60_000);
});
