import { describe, expect, it } from 'vitest';
import { commitRulesForRef, evaluateRefUpdate, parsePolicy, ruleCovers, rulesForRef } from '../../../src/core/policy/index.ts';
import type { Policy, PolicyRule, RefUpdateInput } from '../../../src/core/policy/index.ts';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';

/** The pure parts of enforcement (issue 11): tag names, replace refs, aliases, rule coverage. */
const NEW = 'b'.repeat(40);
const alice: SignatureVerdict = {
  status: 'G',
  format: 'openpgp',
  reason: 'valid',
  key: '1'.repeat(40),
  signer: 'Alice <alice@example.com>',
  identities: ['alice@example.com'],
};

function policy(rules: string): Policy {
  return parsePolicy(`version: 1\nkeys:\n  openpgp: [team.asc]\ngroups:\n  release: [alice@example.com]\nrules:\n${rules}`, 'policy.yml');
}
const codes = (decision: { violations: Array<{ code: string }> }): string[] => decision.violations.map((v) => v.code);
const update = (extra: Partial<RefUpdateInput>): RefUpdateInput => ({
  ref: 'refs/heads/main',
  oldOid: null,
  newOid: NEW,
  isForcePush: false,
  commits: [],
  ...extra,
});

describe('signed tags are bound to their ref name', () => {
  const tags = policy('  - refs: ["refs/tags/v*"]\n    require_signed_tags: true\n');
  it('refuses a tag object whose own name is not the ref name, and says which name it carries', () => {
    const renamed = evaluateRefUpdate(
      tags,
      update({ ref: 'refs/tags/v1.0', tag: { oid: NEW, name: 'v1.0-rc1', taggerEmail: 'alice@example.com', verdict: alice } }),
    );
    expect(codes(renamed)).toEqual(['TAG_NAME_MISMATCH']);
    expect(renamed.violations[0]!.message).toBe(
      "refs/tags/v1.0 points at the tag object named 'v1.0-rc1': a signed tag must be pushed under its own name (refs/tags/v1.0-rc1)",
    );
    // A prefix, a suffix or a case change is another name too.
    for (const name of ['v1', 'v1.0.0', 'V1.0', 'refs/tags/v1.0']) {
      expect(codes(evaluateRefUpdate(tags, update({ ref: 'refs/tags/v1.0', tag: { oid: NEW, name, taggerEmail: 'a@x', verdict: alice } }))), name).toContain(
        'TAG_NAME_MISMATCH',
      );
    }
    expect(evaluateRefUpdate(tags, update({ ref: 'refs/tags/v1.0', tag: { oid: NEW, name: 'v1.0', taggerEmail: 'a@x', verdict: alice } })).allowed).toBe(true);
  });
});

describe('replace refs', () => {
  const main = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n');
  it('refuses creating or moving a replace ref no rule names, and lets it be deleted', () => {
    const ref = `refs/replace/${'c'.repeat(40)}`;
    expect(codes(evaluateRefUpdate(main, update({ ref })))).toEqual(['REPLACE_REF_FORBIDDEN']);
    expect(codes(evaluateRefUpdate(main, update({ ref, oldOid: NEW, newOid: 'd'.repeat(40) })))).toEqual(['REPLACE_REF_FORBIDDEN']);
    expect(evaluateRefUpdate(main, update({ ref, oldOid: NEW, newOid: null })).allowed).toBe(true);
    const named = policy('  - refs: ["refs/replace/*"]\n    require_signed_commits: true\n');
    expect(evaluateRefUpdate(named, update({ ref })).allowed).toBe(true);
  });
});

describe('aliases', () => {
  const rules = policy('  - refs: [refs/heads/main]\n    forbid_force_push: true\n  - refs: [refs/heads/master]\n    require_signed_commits: true\n');
  it("applies the rules of every name the push went through, the target's and the alias's", () => {
    expect(rulesForRef(rules, 'refs/heads/main', ['refs/heads/master']).map((rule) => rule.index)).toEqual([0, 1]);
    const forced = evaluateRefUpdate(
      rules,
      update({
        oldOid: 'a'.repeat(40),
        isForcePush: true,
        aliases: ['refs/heads/master'],
        commits: [
          {
            oid: 'e'.repeat(40),
            subject: 'x',
            committerEmail: '',
            authorEmail: '',
            verdict: { status: 'N', format: 'none', reason: 'unsigned' },
            changedPaths: [],
          },
        ],
      }),
    );
    expect(codes(forced).sort()).toEqual(['FORCE_PUSH_FORBIDDEN', 'UNSIGNED_COMMIT']);
  });
});

describe('ruleCovers: when a commit judged under one rule counts as judged under another', () => {
  const p = policy(`  - refs: [refs/heads/a]
    require_signed_commits: true
    signers: [group:release]
  - refs: [refs/heads/b]
    require_signed_commits: true
  - refs: [refs/heads/c]
    require_signed_commits: true
    signers: [alice@example.com, bob@example.com]
  - refs: [refs/heads/d]
    require_signed_commits: true
    accept: [G, X]
  - refs: [refs/heads/e]
    require_signed_commits: true
    signers: [alice@example.com]
    require_email_match: true
  - refs: [refs/heads/f]
    require_signed_commits: true
    signers: [alice@example.com]
    paths:
      - match: ["ci/**"]
        signers: [alice@example.com]
  - refs: [refs/heads/g]
    forbid_force_push: true
`);
  const rule = (ref: string): PolicyRule => rulesForRef(p, `refs/heads/${ref}`)[0]!;
  it('covers when no more letters, no other signers and no fewer checks are allowed', () => {
    expect(ruleCovers(rule('a'), rule('a'))).toBe(true);
    expect(ruleCovers(rule('a'), rule('b'))).toBe(true); // alice only ⊂ any key
    expect(ruleCovers(rule('a'), rule('c'))).toBe(true); // group:release = alice ⊂ alice, bob
    expect(ruleCovers(rule('b'), rule('a'))).toBe(false);
    expect(ruleCovers(rule('c'), rule('a'))).toBe(false);
    expect(ruleCovers(rule('d'), rule('b'))).toBe(false); // accepts X, which b does not
    expect(ruleCovers(rule('b'), rule('d'))).toBe(true);
    expect(ruleCovers(rule('a'), rule('e'))).toBe(false); // e checks the e-mail, a did not
    expect(ruleCovers(rule('e'), rule('a'))).toBe(true);
    expect(ruleCovers(rule('a'), rule('f'))).toBe(false); // f's path rule was never applied
    expect(ruleCovers(rule('f'), rule('a'))).toBe(true);
  });
  it('lists no commit rules for a ref whose rules judge no commits', () => {
    expect(commitRulesForRef(p, 'refs/heads/g')).toEqual([]);
    expect(ruleCovers(rule('g'), rule('g'))).toBe(false);
  });
});
