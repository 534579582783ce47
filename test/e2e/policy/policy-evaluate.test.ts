import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateRefUpdate, parsePolicy } from '../../../src/core/policy/index.ts';
import type { CommitInput, Policy, RefUpdateInput } from '../../../src/core/policy/index.ts';
import type { SignatureVerdict, StatusLetter } from '../../../src/core/verdict.ts';

const ALICE_PRIMARY = '1111111111111111111111111111111111111111';
const ALICE_SUBKEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1234';
const BOB_KEY = '2222222222222222222222222222222222222222';
const CAROL_V6 = `C0FFEE00C0FFEE01${'3'.repeat(48)}`;
const DAVE_SSH = 'SHA256:dAvEdAvEdAvEdAvEdAvEdAvEdAvEdAvEdAvEdAvEdAv';
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

const alice = (status: StatusLetter = 'G', extra: Partial<SignatureVerdict> = {}): SignatureVerdict => ({
  status,
  format: 'openpgp',
  reason: status === 'G' ? 'valid' : 'invalid',
  key: ALICE_SUBKEY,
  primaryKey: ALICE_PRIMARY,
  signer: 'Alice <alice@example.com>',
  identities: ['alice@example.com', 'alice@home.example'],
  hashAlgorithm: 'sha256',
  ...extra,
});
const bob = (extra: Partial<SignatureVerdict> = {}): SignatureVerdict => ({
  status: 'G',
  format: 'openpgp',
  reason: 'valid',
  key: BOB_KEY,
  signer: 'Bob <bob@example.com>',
  identities: ['bob@example.com'],
  ...extra,
});
const carol = (): SignatureVerdict => ({
  status: 'G',
  format: 'openpgp',
  reason: 'valid',
  key: CAROL_V6,
  signer: 'Carol <carol@example.com>',
  identities: ['carol@example.com'],
});
const dave = (extra: Partial<SignatureVerdict> = {}): SignatureVerdict => ({
  status: 'G',
  format: 'ssh',
  reason: 'valid',
  key: DAVE_SSH,
  signer: 'dave',
  identities: [],
  ...extra,
});
const unsigned = (): SignatureVerdict => ({ status: 'N', format: 'none', reason: 'unsigned' });

let counter = 0;
function commit(verdict: SignatureVerdict, extra: Partial<CommitInput> = {}): CommitInput {
  counter += 1;
  return {
    oid: counter.toString(16).padStart(40, 'c'),
    subject: `change ${counter}`,
    committerEmail: 'alice@example.com',
    authorEmail: 'alice@example.com',
    verdict,
    changedPaths: ['src/index.ts'],
    ...extra,
  };
}

function update(commits: CommitInput[], extra: Partial<RefUpdateInput> = {}): RefUpdateInput {
  return { ref: 'refs/heads/main', oldOid: OLD, newOid: NEW, isForcePush: false, commits, ...extra };
}

function policy(rules: string, head = ''): Policy {
  return parsePolicy(
    `version: 1
keys:
  openpgp: [keys/team.asc]
  ssh_allowed_signers: keys/allowed_signers
  forge_accounts: true
groups:
  release: [alice@example.com, group:ops]
  ops: ["${DAVE_SSH}"]
${head}rules:
${rules}`,
    '.github/signet.yml',
  );
}

const signedMain = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n');
const codes = (decision: { violations: Array<{ code: string }> }): string[] => decision.violations.map((v) => v.code);

describe('status letters', () => {
  const all: StatusLetter[] = ['G', 'B', 'U', 'X', 'Y', 'R', 'E', 'N'];

  it('accepts only G by default', () => {
    for (const letter of all) {
      const verdict = letter === 'N' ? unsigned() : alice(letter, { signedAt: 100, keyExpiredAt: 200 });
      const decision = evaluateRefUpdate(signedMain, update([commit(verdict)]));
      expect(decision.allowed, letter).toBe(letter === 'G');
      expect(decision.noPolicy).toBe(false);
      expect(decision.commits[0]!.accepted, letter).toBe(letter === 'G');
      if (letter !== 'G') expect(codes(decision), letter).toEqual([letter === 'N' ? 'UNSIGNED_COMMIT' : 'COMMIT_SIGNATURE_NOT_ACCEPTED']);
    }
  });

  it('accepts X and Y when the rule lists them, and never B, U, E, R or N', () => {
    const lenient = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n    accept: [G, X, Y]\n');
    for (const letter of all) {
      const verdict = letter === 'N' ? unsigned() : alice(letter, { signedAt: 100, keyExpiredAt: 200 });
      expect(evaluateRefUpdate(lenient, update([commit(verdict)])).allowed, letter).toBe(['G', 'X', 'Y'].includes(letter));
    }
  });

  it('accepts Y only for signatures made before the key expired', () => {
    const lenient = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n    accept: [G, Y]\n');
    const decide = (extra: Partial<SignatureVerdict>) => evaluateRefUpdate(lenient, update([commit(alice('Y', extra))]));
    expect(decide({ signedAt: 1_700_000_000, keyExpiredAt: 1_700_000_001 }).allowed).toBe(true);
    const after = decide({ signedAt: 1_700_000_001, keyExpiredAt: 1_700_000_000 });
    expect(after.allowed).toBe(false);
    expect(after.violations[0]!.message).toContain('signed 2023-11-14T22:13:21Z, key expired 2023-11-14T22:13:20Z');
    expect(decide({ signedAt: 1_700_000_000, keyExpiredAt: 1_700_000_000 }).allowed).toBe(false);
    expect(decide({ keyExpiredAt: 1_700_000_000 }).violations[0]!.message).toMatch(/carries no time/);
    expect(decide({ signedAt: 1_700_000_000 }).allowed).toBe(false);
  });

  it('gives each refusal a reason and a fix that names the registry files', () => {
    const unknownSsh = evaluateRefUpdate(signedMain, update([commit(dave({ status: 'U', reason: 'unknown_key' }))]));
    expect(unknownSsh.violations[0]!.message).toContain(`signed by a key the registry does not know (key ${DAVE_SSH})`);
    expect(unknownSsh.violations[0]!.fix).toBe(
      'ask an admin to add your key to keys/allowed_signers, or add it as a signing key to your GitHub / GitLab account',
    );
    const unknownPgp = evaluateRefUpdate(signedMain, update([commit(bob({ status: 'E', reason: 'unknown_key' }))]));
    expect(unknownPgp.violations[0]!.fix).toMatch(/^ask an admin to add your key to keys\/team\.asc/);
    const unsignedDecision = evaluateRefUpdate(signedMain, update([commit(unsigned())]));
    expect(unsignedDecision.violations[0]!.fix).toBe(`git rebase --exec 'git commit --amend --no-edit -S' ${OLD}`);
    // A new branch has no old tip to rebase onto: the hint says what to put there.
    const created = evaluateRefUpdate(signedMain, update([commit(unsigned())], { oldOid: null }));
    expect(created.violations[0]!.fix).toBe("git rebase --exec 'git commit --amend --no-edit -S' <the commit your branch starts from>");
    const bad = evaluateRefUpdate(signedMain, update([commit(alice('B'))]));
    expect(bad.violations[0]!.message).toMatch(/^commit [0-9a-f]{12} \("change \d+"\): bad signature \(key 1{40}\)/);
    expect(bad.commits[0]!.reasons[0]).toMatch(/^bad signature/);
  });

  it('refuses commits that merge a tag whose signature is bad', () => {
    const decision = evaluateRefUpdate(signedMain, update([commit(alice(), { mergetags: [alice('G'), bob({ status: 'B', reason: 'invalid' })] })]));
    expect(codes(decision)).toEqual(['MERGETAG_BAD_SIGNATURE']);
    const fine = evaluateRefUpdate(signedMain, update([commit(alice(), { mergetags: [bob({ status: 'U', reason: 'unknown_key' })] })]));
    expect(fine.allowed).toBe(true);
  });
});

describe('signer allow-lists', () => {
  const withSigners = (list: string) => policy(`  - refs: [refs/heads/main]\n    require_signed_commits: true\n    signers: [${list}]\n`);
  const allowed = (p: Policy, verdict: SignatureVerdict) => evaluateRefUpdate(p, update([commit(verdict, { committerEmail: 'x@example.com' })])).allowed;

  it('matches e-mails against any identity of the key, case-insensitively', () => {
    expect(allowed(withSigners('Alice@Home.Example'), alice())).toBe(true);
    expect(allowed(withSigners('alice@example.com'), alice('G', { signer: 'A. <a@elsewhere.example>', identities: ['alice@example.com'] }))).toBe(true);
    expect(allowed(withSigners('alice@example.com'), bob())).toBe(false);
    // The signer's UID counts even when the verifier listed no identities.
    expect(allowed(withSigners('bob@example.com'), bob({ identities: [] }))).toBe(true);
  });

  it('matches SSH principals only for SSH signatures', () => {
    expect(allowed(withSigners('dave'), dave())).toBe(true);
    expect(allowed(withSigners('dave'), bob({ signer: 'dave' }))).toBe(false);
    expect(allowed(withSigners('erin'), dave())).toBe(false);
  });

  it('matches fingerprints (full, of the subkey or the primary key) and long key ids', () => {
    expect(allowed(withSigners(`"${ALICE_PRIMARY}"`), alice())).toBe(true);
    expect(allowed(withSigners(`"${ALICE_SUBKEY.toLowerCase()}"`), alice())).toBe(true);
    expect(allowed(withSigners(`"0x${ALICE_SUBKEY.slice(-16).toLowerCase()}"`), alice())).toBe(true);
    expect(allowed(withSigners(`"0x${ALICE_PRIMARY.slice(-16)}"`), alice())).toBe(true);
    expect(allowed(withSigners(`"0x${ALICE_SUBKEY.slice(0, 16)}"`), alice())).toBe(false);
    expect(allowed(withSigners(`"${BOB_KEY}"`), alice())).toBe(false);
    // v6 key ids are the fingerprint's first 64 bits.
    expect(allowed(withSigners('"0xC0FFEE00C0FFEE01"'), carol())).toBe(true);
    expect(allowed(withSigners(`"0x${CAROL_V6.slice(-16)}"`), carol())).toBe(false);
  });

  it('matches SSH fingerprints exactly (base64 is case-sensitive)', () => {
    expect(allowed(withSigners(`"${DAVE_SSH}"`), dave())).toBe(true);
    expect(allowed(withSigners(`"SHA256:${DAVE_SSH.slice(7).toLowerCase()}"`), dave())).toBe(false);
  });

  it('expands nested groups', () => {
    const byGroup = withSigners('group:release');
    expect(allowed(byGroup, alice())).toBe(true);
    expect(allowed(byGroup, dave())).toBe(true);
    expect(allowed(byGroup, bob())).toBe(false);
    const decision = evaluateRefUpdate(byGroup, update([commit(bob())]));
    expect(decision.violations[0]).toMatchObject({
      code: 'COMMIT_SIGNER_NOT_ALLOWED',
      message: expect.stringContaining(`signed by Bob <bob@example.com> (key ${BOB_KEY}), who is not an allowed signer (group:release)`),
      fix: 'ask an admin to add you or your key to group:release in .github/signet.yml',
    });
  });
});

describe('e-mail match and SHA-1', () => {
  const strict = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n    require_email_match: true\n');

  it('requires the committer e-mail to be an identity of the key', () => {
    expect(evaluateRefUpdate(strict, update([commit(alice(), { committerEmail: 'ALICE@home.example' })])).allowed).toBe(true);
    const mismatch = evaluateRefUpdate(strict, update([commit(alice(), { committerEmail: 'alice@work.example' })]));
    expect(codes(mismatch)).toEqual(['COMMIT_EMAIL_MISMATCH']);
    expect(mismatch.violations[0]!.message).toContain(
      'committer e-mail alice@work.example is not an identity of the signing key (alice@example.com, alice@home.example)',
    );
    // The author does not matter: the committer is who signed.
    expect(evaluateRefUpdate(strict, update([commit(alice(), { authorEmail: 'someone@else.example' })])).allowed).toBe(true);
  });

  it("trusts the verifier's emailMatches when present (SSH principal patterns)", () => {
    expect(evaluateRefUpdate(strict, update([commit(alice('G', { emailMatches: false }))])).allowed).toBe(false);
    expect(evaluateRefUpdate(strict, update([commit(dave({ emailMatches: true }), { committerEmail: 'dave@example.com' })])).allowed).toBe(true);
    expect(evaluateRefUpdate(signedMain, update([commit(alice(), { committerEmail: 'other@example.com' })])).allowed).toBe(true);
  });

  it('refuses SHA-1 signatures by default, and allows them when refuse_sha1 is false', () => {
    const sha1 = commit(alice('G', { hashAlgorithm: 'SHA1' }));
    expect(codes(evaluateRefUpdate(signedMain, update([sha1])))).toEqual(['COMMIT_WEAK_HASH']);
    expect(codes(evaluateRefUpdate(signedMain, update([commit(alice('G', { hashAlgorithm: undefined, reason: 'weak_hash' }))])))).toEqual(['COMMIT_WEAK_HASH']);
    const lax = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n    refuse_sha1: false\n');
    expect(evaluateRefUpdate(lax, update([sha1])).allowed).toBe(true);
  });
});

describe('path rules', () => {
  const guarded = policy(`  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [group:release, bob@example.com]
    paths:
      - match: [".github/workflows/**"]
        signers: [alice@example.com]
      - match: [src/security]
        threshold: 2
`);

  it('requires the path signers for commits touching the paths', () => {
    const byAlice = commit(alice(), { changedPaths: ['README.md', '.github/workflows/ci.yml'] });
    const byBob = commit(bob(), { changedPaths: ['.github/workflows/release.yml'], committerEmail: 'bob@example.com' });
    const bobElsewhere = commit(bob(), { changedPaths: ['src/app.ts'] });
    const decision = evaluateRefUpdate(guarded, update([byAlice, byBob, bobElsewhere]));
    expect(decision.allowed).toBe(false);
    expect(decision.violations).toHaveLength(1);
    expect(decision.violations[0]).toMatchObject({
      code: 'PATH_SIGNER_NOT_ALLOWED',
      commit: byBob.oid,
      rule: 0,
      message: expect.stringContaining('it changes .github/workflows/release.yml, which only alice@example.com may sign (rules[0].paths[0])'),
    });
    expect(decision.commits.map((c) => c.accepted)).toEqual([true, false, true]);
  });

  it('counts distinct signers among the commits touching the paths against the threshold', () => {
    const touch = (verdict: SignatureVerdict) => commit(verdict, { changedPaths: ['src/security/crypto.ts'] });
    const one = evaluateRefUpdate(guarded, update([touch(alice()), touch(alice()), commit(bob())]));
    expect(codes(one)).toEqual(['PATH_THRESHOLD_NOT_MET']);
    expect(one.violations[0]!.message).toBe(
      `changes to src/security need commits signed by 2 different allowed signers (rules[0].paths[1]); this push has 1 (Alice <alice@example.com> (key ${ALICE_PRIMARY}))`,
    );
    expect(one.violations[0]!.commit).toBeUndefined();
    expect(evaluateRefUpdate(guarded, update([touch(alice()), touch(bob())])).allowed).toBe(true);
    expect(evaluateRefUpdate(guarded, update([touch(alice()), touch(dave())])).allowed).toBe(true);
    // Nothing touched: nothing to approve.
    expect(evaluateRefUpdate(guarded, update([commit(alice())])).allowed).toBe(true);
  });

  it('does not let one person meet a threshold with two keys that share an e-mail', () => {
    const touch = (verdict: SignatureVerdict) => commit(verdict, { changedPaths: ['src/security/x'] });
    const secondKey = alice('G', { key: '9'.repeat(40), primaryKey: undefined, identities: ['alice@example.com'] });
    expect(codes(evaluateRefUpdate(guarded, update([touch(alice()), touch(secondKey)])))).toEqual(['PATH_THRESHOLD_NOT_MET']);
  });

  it('does not count commits that fail the signature checks', () => {
    const touch = (verdict: SignatureVerdict) => commit(verdict, { changedPaths: ['src/security/x'] });
    const decision = evaluateRefUpdate(guarded, update([touch(alice()), touch(bob({ status: 'R', reason: 'revoked_key' }))]));
    expect(codes(decision).sort()).toEqual(['COMMIT_SIGNATURE_NOT_ACCEPTED', 'PATH_THRESHOLD_NOT_MET']);
  });
});

describe('force pushes and deletion', () => {
  const locked = policy('  - refs: [refs/heads/main, "refs/tags/*"]\n    forbid_force_push: true\n    forbid_deletion: true\n');

  it('refuses force pushes but allows fast-forwards and creation', () => {
    expect(codes(evaluateRefUpdate(locked, update([], { isForcePush: true })))).toEqual(['FORCE_PUSH_FORBIDDEN']);
    expect(evaluateRefUpdate(locked, update([])).allowed).toBe(true);
    expect(evaluateRefUpdate(locked, update([], { oldOid: null, isForcePush: true })).allowed).toBe(true);
    expect(evaluateRefUpdate(locked, update([], { oldOid: '0'.repeat(64), isForcePush: true })).allowed).toBe(true);
    const allowedForce = policy('  - refs: [refs/heads/main]\n    forbid_deletion: true\n');
    expect(evaluateRefUpdate(allowedForce, update([], { isForcePush: true })).allowed).toBe(true);
  });

  it('treats moving an existing tag as a force push', () => {
    const moved = evaluateRefUpdate(locked, update([], { ref: 'refs/tags/v1' }));
    expect(codes(moved)).toEqual(['FORCE_PUSH_FORBIDDEN']);
    expect(moved.violations[0]!.message).toBe('moving the existing tag refs/tags/v1 is forbidden by the policy');
  });

  it('refuses deletion (null or all-zero new id) without checking commits', () => {
    for (const newOid of [null, '0'.repeat(40)]) {
      const decision = evaluateRefUpdate(locked, update([], { newOid }));
      expect(codes(decision)).toEqual(['DELETION_FORBIDDEN']);
    }
    const both = policy('  - refs: [refs/heads/main]\n    require_signed_commits: true\n');
    expect(evaluateRefUpdate(both, update([], { newOid: null })).allowed).toBe(true);
  });
});

describe('tags', () => {
  const tagged = policy(`  - refs: ["refs/tags/v*"]
    require_signed_tags: true
    signers: [alice@example.com]
    require_email_match: true
  - refs: ["refs/**"]
    require_signed_tags: true
`);
  const tagUpdate = (tag?: RefUpdateInput['tag']) => update([], { ref: 'refs/tags/v1.0', oldOid: null, ...(tag ? { tag } : {}) });

  it('requires an annotated tag signed by an allowed signer', () => {
    expect(evaluateRefUpdate(tagged, tagUpdate({ oid: NEW, name: 'v1.0', taggerEmail: 'alice@example.com', verdict: alice() })).allowed).toBe(true);
    const light = evaluateRefUpdate(tagged, tagUpdate());
    expect(codes(light)).toEqual(['TAG_NOT_ANNOTATED']);
    expect(light.violations[0]!.fix).toBe('git tag -s -f v1.0 v1.0^{} && git push origin refs/tags/v1.0');
    expect(codes(evaluateRefUpdate(tagged, tagUpdate({ oid: NEW, name: 'v1.0', taggerEmail: 'alice@example.com', verdict: unsigned() })))).toEqual([
      'UNSIGNED_TAG',
    ]);
    expect(codes(evaluateRefUpdate(tagged, tagUpdate({ oid: NEW, name: 'v1.0', taggerEmail: 'robert@example.com', verdict: bob() }))).sort()).toEqual([
      'TAG_EMAIL_MISMATCH',
      'TAG_SIGNER_NOT_ALLOWED',
    ]);
    expect(
      codes(evaluateRefUpdate(tagged, tagUpdate({ oid: NEW, name: 'v1.0', taggerEmail: 'alice@example.com', verdict: alice('G', { hashAlgorithm: 'sha1' }) }))),
    ).toEqual(['TAG_WEAK_HASH']);
    const rejected = evaluateRefUpdate(tagged, tagUpdate({ oid: NEW, name: 'v1.0', taggerEmail: 'alice@example.com', verdict: alice('R') }));
    expect(rejected.violations[0]).toMatchObject({
      code: 'TAG_SIGNATURE_NOT_ACCEPTED',
      commit: NEW,
      message: expect.stringMatching(/^tag v1\.0: signed by a revoked key/),
    });
  });

  it('applies require_signed_tags to refs under refs/tags/ only', () => {
    expect(evaluateRefUpdate(tagged, update([commit(unsigned())])).allowed).toBe(true);
    // Only the refs/** rule applies here, and it does not restrict signers.
    expect(
      evaluateRefUpdate(tagged, update([], { ref: 'refs/tags/x', oldOid: null, tag: { oid: NEW, name: 'x', taggerEmail: 'b@x', verdict: bob() } })).allowed,
    ).toBe(true);
  });
});

describe('signed pushes', () => {
  const pushes = policy('  - refs: [refs/heads/main]\n    require_signed_push: true\n    signers: [alice@example.com]\n');

  it('requires a good push certificate with a fresh nonce from an allowed signer', () => {
    const decide = (pushCertificate?: RefUpdateInput['pushCertificate']) =>
      codes(evaluateRefUpdate(pushes, update([commit(unsigned())], pushCertificate ? { pushCertificate } : {})));
    expect(decide()).toEqual(['PUSH_NOT_SIGNED']);
    expect(decide({ status: 'N' })).toEqual(['PUSH_NOT_SIGNED']);
    expect(decide({ status: 'G', nonceStatus: 'OK', signer: 'Alice <alice@example.com>', key: ALICE_SUBKEY.slice(-16) })).toEqual([]);
    expect(decide({ status: 'G', nonceStatus: 'SLOP', signer: 'Alice <alice@example.com>' })).toEqual([]);
    expect(decide({ status: 'G', nonceStatus: 'BAD', signer: 'Alice <alice@example.com>' })).toEqual(['PUSH_NONCE_NOT_VERIFIED']);
    expect(decide({ status: 'G', signer: 'Alice <alice@example.com>' })).toEqual(['PUSH_NONCE_NOT_VERIFIED']);
    expect(decide({ status: 'Y', nonceStatus: 'OK', signer: 'Alice <alice@example.com>' })).toEqual(['PUSH_SIGNATURE_NOT_ACCEPTED']);
    expect(decide({ status: 'G', nonceStatus: 'OK', signer: 'Bob <bob@example.com>', key: BOB_KEY })).toEqual(['PUSH_SIGNER_NOT_ALLOWED']);
  });

  it('matches a full fingerprint in the allow-list against the long key id git reports', () => {
    const byFingerprint = policy(`  - refs: [refs/heads/main]\n    require_signed_push: true\n    signers: ["${ALICE_PRIMARY}"]\n`);
    const decision = evaluateRefUpdate(byFingerprint, update([], { pushCertificate: { status: 'G', nonceStatus: 'OK', key: ALICE_PRIMARY.slice(-16) } }));
    expect(decision.allowed).toBe(true);
  });
});

describe('several rules and no rule', () => {
  it('applies every matching rule: the strictest wins', () => {
    const layered = policy(`  - refs: ["refs/heads/**"]
    require_signed_commits: true
  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [alice@example.com]
    forbid_force_push: true
`);
    const bobsCommit = commit(bob());
    expect(evaluateRefUpdate(layered, update([bobsCommit], { ref: 'refs/heads/feature' })).allowed).toBe(true);
    const onMain = evaluateRefUpdate(layered, update([bobsCommit, commit(unsigned())], { isForcePush: true }));
    expect(onMain.violations.map((v) => [v.code, v.rule])).toEqual([
      ['FORCE_PUSH_FORBIDDEN', 1],
      ['COMMIT_SIGNER_NOT_ALLOWED', 1],
      // The same unsigned commit fails both rules; it is reported once.
      ['UNSIGNED_COMMIT', 0],
    ]);
    expect(onMain.commits.map((c) => c.accepted)).toEqual([false, false]);
  });

  it('reports noPolicy when no rule matches', () => {
    const decision = evaluateRefUpdate(signedMain, update([commit(unsigned())], { ref: 'refs/heads/feature' }));
    expect(decision).toEqual({
      ref: 'refs/heads/feature',
      allowed: true,
      noPolicy: true,
      violations: [],
      commits: [{ oid: expect.any(String), accepted: true, reasons: ['no policy rule matches refs/heads/feature'] }],
    });
  });

  it('says why accepted commits passed', () => {
    const decision = evaluateRefUpdate(signedMain, update([commit(alice())]));
    expect(decision.commits[0]!.reasons).toEqual([`G signature by Alice <alice@example.com> (key ${ALICE_PRIMARY})`]);
    const unsignedOk = evaluateRefUpdate(policy('  - refs: [refs/heads/main]\n    forbid_deletion: true\n'), update([commit(unsigned())]));
    expect(unsignedOk.commits[0]!.reasons).toEqual(['no rule requires signed commits on refs/heads/main']);
  });

  it('decides the same whatever the order of the commits', () => {
    const layered = policy(`  - refs: [refs/heads/main]
    require_signed_commits: true
    accept: [G, Y]
    signers: [group:release]
    paths:
      - match: ["src/**"]
        threshold: 2
`);
    const pool = [alice(), bob(), dave(), unsigned(), alice('Y', { signedAt: 1, keyExpiredAt: 2 }), alice('Y', { signedAt: 3, keyExpiredAt: 2 }), alice('B')];
    const arbitraryCommit = fc.record({ verdict: fc.constantFrom(...pool), path: fc.constantFrom('src/a.ts', 'docs/x.md', 'src/deep/b.ts') });
    fc.assert(
      fc.property(fc.array(arbitraryCommit, { maxLength: 8 }), fc.boolean(), (specs, reverse) => {
        const commits = specs.map((spec) => commit(spec.verdict, { changedPaths: [spec.path] }));
        const forward = evaluateRefUpdate(layered, update(commits));
        const backward = evaluateRefUpdate(layered, update(reverse ? [...commits].reverse() : commits));
        expect(backward.allowed).toBe(forward.allowed);
        expect(new Set(backward.violations.map((v) => `${v.code}:${v.commit ?? ''}`))).toEqual(
          new Set(forward.violations.map((v) => `${v.code}:${v.commit ?? ''}`)),
        );
        // A push is allowed exactly when every commit is accepted and no push-level rule fails.
        if (forward.allowed) expect(forward.commits.every((c) => c.accepted)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('speed', () => {
  it('decides a 100 000-commit push in under 5 s on a loaded 2-core machine (prints the time)', () => {
    const big = policy(`  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [group:release, "${BOB_KEY}"]
    require_email_match: true
    paths:
      - match: [".github/workflows/**", "src/security/**"]
        threshold: 2
`);
    const commits = Array.from({ length: 100_000 }, (_, i) =>
      commit(i % 2 ? alice() : bob(), {
        committerEmail: i % 2 ? 'alice@example.com' : 'bob@example.com',
        changedPaths: [`src/module${i % 50}/file${i}.ts`, i % 1000 < 2 ? 'src/security/x.ts' : 'README.md'],
      }),
    );
    const started = performance.now();
    const decision = evaluateRefUpdate(big, update(commits));
    const elapsed = performance.now() - started;
    expect(decision.allowed).toBe(true);
    expect(decision.commits).toHaveLength(100_000);
    console.log(`evaluateRefUpdate: 100000 commits, 2 path patterns: ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(5_000);
  });
});
