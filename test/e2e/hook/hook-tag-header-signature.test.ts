/**
 * A tag whose only signature is a `gpgsig` header (the other hash's interoperability
 * signature, which git never verifies: `git verify-tag` says "no signature found") is refused
 * under a signed-tag rule as unsigned, by a real `git push` into a bare repository with the
 * hook. Before, signet took the header as the tag's signature and accepted it.
 */
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
  - refs: ["refs/tags/*"]
    require_signed_tags: true
    signers: [alice@example.com]
`;

describe('hook: a tag signed only in a header', () => {
  let fixture: HookFixture;

  beforeAll(() => {
    fixture = makeHookFixture('hook-tag-header', POLICY, ['Alice']);
  }, 60_000);
  afterAll(() => fixture?.remove());

  it('is refused as unsigned; the same signature at the end is accepted', () => {
    const host = fixture.fresh('tags');
    const alice = fixture.people[0]!;
    const target = host.ref('refs/heads/main')!;
    const head = `object ${target}\ntype commit\ntag v1\ntagger Alice <${alice.email}> 1700000000 +0000\n`;
    const payload = `${head}\nrelease\n`;
    const armor = fixture.gpg.gpg(['--armor', '--detach-sign', '-u', alice.fingerprint], payload);
    const inHeader = `${head}gpgsig ${armor.trimEnd().split('\n').join('\n ')}\n\nrelease\n`;
    const headerTag = git(host.work, ['hash-object', '-t', 'tag', '-w', '--literally', '--stdin'], { input: inHeader });
    git(host.work, ['update-ref', 'refs/tags/v1', headerTag]);
    const refused = host.push(['-q', 'origin', 'refs/tags/v1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refs\/tags\/v1 rejected/);
    expect(refused.stderr).toMatch(/not signed/);
    expect(host.ref('refs/tags/v1')).toBeUndefined();

    const atEnd = git(host.work, ['hash-object', '-t', 'tag', '-w', '--stdin'], { input: payload + armor });
    git(host.work, ['update-ref', 'refs/tags/v1', atEnd]);
    const accepted = host.push(['-q', 'origin', 'refs/tags/v1']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(host.ref('refs/tags/v1')).toBe(atEnd);
  }, 60_000);
});
