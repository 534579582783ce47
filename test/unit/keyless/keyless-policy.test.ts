import { describe, expect, it } from 'vitest';
import { checkPolicy, parsePolicy } from '../../../src/core/policy/parse.ts';
import { entryMatches } from '../../../src/core/policy/signers.ts';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';

const policy = (signers: string, extra = ''): string =>
  `version: 1\nkeys:\n  trusted_root: root.json\n${extra}rules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n    signers:\n${signers}`;

/** Keyless identities and X.509 subjects as policy signers: parsed strictly, matched exactly. */
describe('policy: keyless identities and X.509 subjects', () => {
  it('reads {issuer, subject} and {issuer_regexp, subject_regexp} members, in rules and groups, into keys.keyless', () => {
    const parsed = parsePolicy(
      policy(
        '      - {issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"}\n      - group:people\n',
        'groups:\n  people:\n    - {issuer_regexp: "^https://accounts\\\\.example\\\\.com$", subject_regexp: "^[a-z]+@example\\\\.com$"}\n',
      ),
      'p.yml',
    );
    expect(parsed.keys.trustedRoot).toBe('root.json');
    expect(parsed.keys.keyless).toEqual([
      { issuerRegexp: '^https://accounts\\.example\\.com$', subjectRegexp: '^[a-z]+@example\\.com$' },
      { issuer: 'https://token.actions.githubusercontent.com', subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' },
    ]);
  });

  const problems: Array<[string, string, RegExp]> = [
    [
      'an unanchored subject_regexp',
      '      - {issuer: "https://x", subject_regexp: "alice@example\\\\.com"}\n',
      /rules\[0\]\.signers\[0\]\.subject_regexp.*must be anchored/,
    ],
    ['an unanchored issuer_regexp', '      - {issuer_regexp: "^https://x", subject: "a@b.c"}\n', /rules\[0\]\.signers\[0\]\.issuer_regexp.*must be anchored/],
    ['a subject without an issuer', '      - {subject: "a@b.c"}\n', /exactly one of issuer or issuer_regexp/],
    [
      'both subject and subject_regexp',
      '      - {issuer: "https://x", subject: "a@b.c", subject_regexp: "^a@b\\\\.c$"}\n',
      /exactly one of subject or subject_regexp/,
    ],
    ['an unknown field', '      - {issuer: "https://x", subjct: "a@b.c"}\n', /unknown field 'subjct' \(did you mean 'subject'\?\)/],
    ['an empty x509: subject', '      - "x509:"\n', /is not an X\.509 subject/],
  ];
  for (const [name, signers, message] of problems) {
    it(`${name} is an error naming the field`, () => {
      const { problems: found } = checkPolicy(policy(signers), 'p.yml');
      expect(found.map((problem) => `${problem.path} ${problem.message}`).join('\n')).toMatch(message);
    });
  }

  it('a keyless entry matches only a keyless verdict with that SAN and issuer; an x509: entry only that certificate subject', () => {
    const parsed = parsePolicy(
      policy('      - {issuer: "https://accounts.example.com", subject: "alice@example.com"}\n      - "x509:EMAIL=bob@example.com,CN=Bob"\n'),
      'p.yml',
    );
    const [keyless, subject] = parsed.rules[0]!.allowedSigners!;
    const verdict = (extra: Partial<SignatureVerdict>): SignatureVerdict => ({ status: 'G', format: 'x509', reason: 'valid', ...extra });
    expect(entryMatches(keyless!, verdict({ keyless: { subject: 'alice@example.com', issuer: 'https://accounts.example.com' } }))).toBe(true);
    expect(entryMatches(keyless!, verdict({ keyless: { subject: 'alice@example.com', issuer: 'https://evil.example.com' } }))).toBe(false);
    expect(entryMatches(keyless!, verdict({ keyless: { subject: 'alice@example.com.evil.test', issuer: 'https://accounts.example.com' } }))).toBe(false);
    expect(entryMatches(keyless!, verdict({ signer: 'alice@example.com', identities: ['alice@example.com'] }))).toBe(false);
    expect(entryMatches(subject!, verdict({ certificateSubject: 'EMAIL=bob@example.com,CN=Bob' }))).toBe(true);
    expect(entryMatches(subject!, verdict({ certificateSubject: 'EMAIL=bob@example.com,CN=Bob', keyless: { subject: 'bob@example.com' } }))).toBe(false);
    expect(entryMatches(subject!, verdict({ certificateSubject: 'CN=Bob' }))).toBe(false);
  });
});
