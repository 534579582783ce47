/**
 * `^a|b$` passes the "starts with ^ and ends with $" check but anchors only its outer ends: its
 * alternatives matched `a.evil.example` and `evil.b`. Every place that matches a user's identity
 * or condition regexp must hold each alternative to the whole subject.
 */
import { describe, expect, it } from 'vitest';
import { conditionHolds } from '../../../src/core/admission/decide.ts';
import { keylessMatches } from '../../../src/core/policy/signers.ts';
import { identityMatches } from '../../../src/core/sign/keyless.ts';
import { anchoredRegexp, identityMatches as commitIdentityMatches } from '../../../src/core/sigstore/identity.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const pattern = '^alice@example\\.com|bob@example\\.com$';
const intended = ['alice@example.com', 'bob@example.com'];
const hostile = ['alice@example.com.evil.test', 'mallory+bob@example.com', 'x-bob@example.com', 'alice@example.comX'];

describe('an anchored regexp with alternatives matches whole subjects only', () => {
  it('artifacts (verify-blob/-image/-attestation, admission keyless authorities)', () => {
    for (const subject of intended) expect(identityMatches({ subjectRegExp: pattern, issuer: ISSUER }, { subject, issuer: ISSUER }), subject).toBe(true);
    for (const subject of hostile) expect(identityMatches({ subjectRegExp: pattern, issuer: ISSUER }, { subject, issuer: ISSUER }), subject).toBe(false);
  });

  it('gitsign commits (verify flags and policy identities)', () => {
    const identity = { subjectRegexp: anchoredRegexp(pattern, 'test'), issuer: ISSUER };
    for (const subject of intended) expect(commitIdentityMatches(identity, subject, ISSUER), subject).toBe(true);
    for (const subject of hostile) expect(commitIdentityMatches(identity, subject, ISSUER), subject).toBe(false);
    for (const subject of intended) expect(keylessMatches({ subjectRegexp: pattern, issuer: ISSUER }, subject, ISSUER), subject).toBe(true);
    for (const subject of hostile) expect(keylessMatches({ subjectRegexp: pattern, issuer: ISSUER }, subject, ISSUER), subject).toBe(false);
  });

  it('admission attestation conditions', () => {
    const condition = { path: 'predicate.builder', matches: '^ci\\.example\\.com|release$' };
    expect(conditionHolds({ predicate: { builder: 'ci.example.com' } }, condition)).toBe(true);
    expect(conditionHolds({ predicate: { builder: 'ci.example.com.attacker.test' } }, condition)).toBe(false);
    expect(conditionHolds({ predicate: { builder: 'not-a-release' } }, condition)).toBe(false);
  });
});
