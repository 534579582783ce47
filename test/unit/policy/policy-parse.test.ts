import { describe, expect, it } from 'vitest';
import { checkPolicy, parsePolicy } from '../../../src/core/policy/index.ts';
import type { PolicyProblem } from '../../../src/core/policy/index.ts';
import { SignetError } from '../../../src/core/errors.ts';

const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';
const SSH_FPR = 'SHA256:uR9nq7o6dEq3TWg8Eq8zZzS0+8l2QFf5Jc6c1q4k0Xw';

const FULL = `version: 1
keys:
  openpgp: [keys/release-team.asc, keys/ops.asc]
  ssh_allowed_signers: keys/allowed_signers
  ssh_revoked_keys: keys/revoked_keys
  forge_accounts: true
  trust_web_flow: false
groups:
  release: [alice@Example.com, "${SSH_FPR}", "0x1A2B3C4D5E6F7A8B", group:ops]
  ops: [${FPR}, deploy-bot]
rules:
  - refs: [refs/heads/main, "refs/heads/release/*"]
    require_signed_commits: true
    accept: [G, Y]
    signers: [group:release]
    require_email_match: true
    refuse_sha1: true
    paths:
      - match: [".github/workflows/**"]
        signers: [alice@example.com]
        threshold: 1
      - match: [src/security/]
        threshold: 2
    forbid_force_push: true
    forbid_deletion: true
    require_signed_push: false
  - refs: "refs/tags/v*"
    require_signed_tags: true
`;

/** The problems as `path@line:column message` strings, easy to assert on. */
function problemsOf(text: string): PolicyProblem[] {
  const { policy, problems } = checkPolicy(text, 'signet.yml');
  if (problems.length > 0) expect(policy).toBeUndefined();
  return problems;
}

function only(text: string): PolicyProblem {
  const problems = problemsOf(text);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  return problems[0]!;
}

/** A minimal valid policy with one rule whose body is `ruleBody` (indented by the caller). */
function withRule(ruleBody: string, extra = ''): string {
  return `version: 1\n${extra}rules:\n  - refs: [refs/heads/main]\n${ruleBody}`;
}

describe('parsePolicy: every field', () => {
  it('reads the full example into normalised data', () => {
    const policy = parsePolicy(FULL, '.github/signet.yml');
    expect(policy.version).toBe(1);
    expect(policy.source).toBe('.github/signet.yml');
    expect(policy.keys).toMatchObject({
      openpgp: ['keys/release-team.asc', 'keys/ops.asc'],
      sshAllowedSigners: 'keys/allowed_signers',
      sshRevokedKeys: 'keys/revoked_keys',
      forgeAccounts: true,
      trustWebFlow: false,
    });
    expect(policy.keys.files).toEqual([
      { kind: 'openpgp', file: 'keys/release-team.asc', field: 'keys.openpgp[0]', line: 3, column: 13 },
      { kind: 'openpgp', file: 'keys/ops.asc', field: 'keys.openpgp[1]', line: 3, column: 36 },
      { kind: 'ssh_allowed_signers', file: 'keys/allowed_signers', field: 'keys.ssh_allowed_signers', line: 4, column: 24 },
      { kind: 'ssh_revoked_keys', file: 'keys/revoked_keys', field: 'keys.ssh_revoked_keys', line: 5, column: 21 },
    ]);
    expect(policy.groups).toEqual({
      release: ['alice@Example.com', SSH_FPR, '0x1A2B3C4D5E6F7A8B', 'group:ops'],
      ops: [FPR, 'deploy-bot'],
    });
    expect(policy.rules).toHaveLength(2);
    const [main, tags] = policy.rules;
    expect(main).toMatchObject({
      index: 0,
      line: 12,
      refs: ['refs/heads/main', 'refs/heads/release/*'],
      requireSignedCommits: true,
      requireSignedTags: false,
      accept: ['G', 'Y'],
      signers: ['group:release'],
      requireEmailMatch: true,
      refuseSha1: true,
      forbidForcePush: true,
      forbidDeletion: true,
      requireSignedPush: false,
    });
    // Groups expand recursively; e-mails are lower-cased, hex upper-cased.
    expect(main!.allowedSigners).toEqual([
      { kind: 'email', email: 'alice@example.com', via: 'group:release' },
      { kind: 'ssh', fingerprint: SSH_FPR, via: 'group:release' },
      { kind: 'keyid', keyId: '1A2B3C4D5E6F7A8B', via: 'group:release' },
      { kind: 'fingerprint', fingerprint: FPR, via: 'group:release' },
      { kind: 'principal', principal: 'deploy-bot', via: 'group:release' },
    ]);
    expect(main!.paths).toEqual([
      { match: ['.github/workflows/**'], signers: ['alice@example.com'], allowedSigners: [{ kind: 'email', email: 'alice@example.com' }], threshold: 1 },
      { match: ['src/security/'], threshold: 2 },
    ]);
    expect(tags).toMatchObject({ index: 1, refs: ['refs/tags/v*'], requireSignedTags: true, requireSignedCommits: false, accept: ['G'], paths: [] });
  });

  it('applies the documented defaults', () => {
    const policy = parsePolicy('version: 1\nrules:\n  - refs: refs/heads/main\n    require_signed_commits: true\n', 'p.yml');
    expect(policy.keys).toEqual({ openpgp: [], forgeAccounts: false, trustWebFlow: false, files: [] });
    expect(policy.groups).toEqual({});
    expect(policy.rules[0]).toEqual({
      index: 0,
      line: 3,
      refs: ['refs/heads/main'],
      requireSignedCommits: true,
      requireSignedTags: false,
      accept: ['G'],
      requireEmailMatch: false,
      refuseSha1: true,
      paths: [],
      forbidForcePush: false,
      forbidDeletion: false,
      requireSignedPush: false,
    });
  });

  it('keeps unquoted hex key ids as text (YAML would read 0x… as a number)', () => {
    const policy = parsePolicy(
      withRule('    require_signed_commits: true\n    signers: [0x1A2B3C4D5E6F7A8B, 1234567890123456789012345678901234567890]\n'),
      'p.yml',
    );
    expect(policy.rules[0]!.allowedSigners).toEqual([
      { kind: 'keyid', keyId: '1A2B3C4D5E6F7A8B' },
      { kind: 'fingerprint', fingerprint: '1234567890123456789012345678901234567890' },
    ]);
  });

  it('accepts fingerprints as gpg prints them (spaced), v6 fingerprints, and explicit principals', () => {
    const v6 = 'AB'.repeat(32);
    const policy = parsePolicy(
      withRule(`    require_signed_commits: true\n    signers: ["0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567", "${v6}", "principal:12345678"]\n`),
      'p.yml',
    );
    expect(policy.rules[0]!.allowedSigners).toEqual([
      { kind: 'fingerprint', fingerprint: FPR },
      { kind: 'fingerprint', fingerprint: v6 },
      { kind: 'principal', principal: '12345678' },
    ]);
  });

  it('resolves YAML anchors and aliases', () => {
    const policy = parsePolicy(
      'version: 1\nrules:\n  - refs: &protected [refs/heads/main]\n    forbid_deletion: true\n  - refs: *protected\n    forbid_force_push: true\n',
      'p.yml',
    );
    expect(policy.rules.map((rule) => rule.refs)).toEqual([['refs/heads/main'], ['refs/heads/main']]);
  });

  it('throws POLICY_INVALID naming file, line, column, field and the count of further problems', () => {
    const text = withRule('    require_signed_commits: yes\n    forbid_force_psuh: true\n');
    let error: unknown;
    try {
      parsePolicy(text, 'signet.yml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SignetError);
    expect((error as SignetError).code).toBe('POLICY_INVALID');
    expect((error as SignetError).message).toBe(
      "invalid policy signet.yml:4:29: rules[0].require_signed_commits: expected true or false; found the string 'yes' (and 1 more; run 'signet policy check signet.yml')",
    );
  });
});

describe('checkPolicy: problems carry path, line and column', () => {
  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('version: 1\nrules:\n\t- refs: x\n')).toEqual([{ path: '', line: 3, column: 1, message: 'YAML: Tabs are not allowed as indentation' }]);
    const unclosed = problemsOf('version: 1\nrules:\n  - refs: [refs/heads/main\n');
    expect(unclosed.length).toBeGreaterThan(0);
    expect(unclosed[0]!.message).toMatch(/^YAML: /);
  });

  it('refuses duplicate keys (a second value must not silently win)', () => {
    const problem = only(withRule('    forbid_deletion: true\n    forbid_deletion: false\n'));
    expect(problem).toMatchObject({ path: '', line: 5, column: 5 });
    expect(problem.message).toMatch(/unique/);
  });

  it('refuses several YAML documents, unknown tags and an empty file', () => {
    expect(problemsOf('version: 1\n---\nversion: 1\n')[0]!.message).toMatch(/multiple documents/);
    expect(problemsOf(withRule('    forbid_deletion: !weird true\n'))[0]!.message).toMatch(/Unresolved tag/);
    expect(only('')).toMatchObject({ path: '', line: 1, column: 1, message: "the policy is empty; it needs at least 'version: 1' and 'rules'" });
    expect(only('# nothing here\n').message).toMatch(/empty/);
  });

  it('requires version 1 and rules', () => {
    expect(problemsOf('keys: {}\n')).toEqual([
      { path: '', line: 1, column: 1, message: "missing field 'version' (write 'version: 1')" },
      { path: '', line: 1, column: 1, message: "missing field 'rules' (a list of rules, each with 'refs')" },
    ]);
    expect(only('version: 2\nrules:\n  - refs: refs/heads/main\n    forbid_deletion: true\n')).toEqual({
      path: 'version',
      line: 1,
      column: 10,
      message: 'unsupported version the number 2; this signet reads version 1',
    });
    expect(only('version: "1"\nrules:\n  - refs: refs/heads/main\n    forbid_deletion: true\n').path).toBe('version');
    expect(only('version: 1\nrules: []\n')).toEqual({ path: 'rules', line: 2, column: 8, message: 'expected at least one rule; the list is empty' });
    expect(only('version: 1\nrules: {}\n').message).toBe('expected a list of rules; found a mapping');
    expect(only('- a\n- b\n').message).toMatch(/^expected a mapping with fields version, keys, groups, rules, release; found a list/);
  });

  it('names unknown fields at every level, with a suggestion for typos', () => {
    const text = `version: 1
key:
  openpgp: []
keys:
  ssh_allowed_signer: x
groups: {}
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    forbid_force_psuh: true
    paths:
      - match: [a]
        signer: [a@b.c]
`;
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.path, p.line, p.column])).toEqual([
      ['key', 2, 1],
      ['keys.ssh_allowed_signer', 5, 3],
      ['rules[0].forbid_force_psuh', 10, 5],
      ['rules[0].paths[0].signer', 13, 9],
    ]);
    expect(problems[0]!.message).toBe("unknown field 'key' (did you mean 'keys'?); known fields: version, keys, groups, rules, release");
    expect(problems[1]!.message).toMatch(/did you mean 'ssh_allowed_signers'\?/);
    expect(problems[2]!.message).toMatch(/did you mean 'forbid_force_push'\?/);
    expect(problems[3]!.message).toMatch(/did you mean 'signers'\?/);
  });

  it('does not suggest a field for unrelated words', () => {
    expect(only(withRule('    forbid_deletion: true\n    colour: blue\n')).message).toBe(
      "unknown field 'colour'; known fields: refs, require_signed_commits, require_signed_tags, accept, signers, require_email_match, refuse_sha1, paths, forbid_force_push, forbid_deletion, require_signed_push",
    );
  });

  it('refuses wrong types, naming what it found', () => {
    const cases: Array<[string, string, string]> = [
      ['    forbid_deletion: yes\n', 'rules[0].forbid_deletion', "expected true or false; found the string 'yes'"],
      ['    forbid_deletion: 1\n', 'rules[0].forbid_deletion', 'expected true or false; found the number 1'],
      ['    forbid_deletion:\n', 'rules[0].forbid_deletion', 'expected true or false; found nothing'],
      ['    forbid_deletion: [true]\n', 'rules[0].forbid_deletion', 'expected true or false; found a list'],
      ['    require_signed_commits: true\n    accept: {G: true}\n', 'rules[0].accept', 'expected a list of status letters; found a mapping'],
      ['    require_signed_commits: true\n    signers: []\n', 'rules[0].signers', 'expected at least one signer; the list is empty'],
      ['    require_signed_commits: true\n    signers: [[a@b.c]]\n', 'rules[0].signers[0]', 'expected signer as a string; found a list'],
      [
        '    require_signed_commits: true\n    paths: {match: a}\n',
        'rules[0].paths',
        "expected a list of path rules (each with 'match' and 'signers'); found a mapping",
      ],
      [
        '    require_signed_commits: true\n    paths: [{match: [a], signers: [a@b.c], threshold: 0}]\n',
        'rules[0].paths[0].threshold',
        'expected a whole number of at least 1; found the number 0',
      ],
      [
        '    require_signed_commits: true\n    paths: [{match: [a], signers: [a@b.c], threshold: 1.5}]\n',
        'rules[0].paths[0].threshold',
        'expected a whole number of at least 1; found the number 1.5',
      ],
      [
        '    require_signed_commits: true\n    paths: [{match: [a], signers: [a@b.c], threshold: "2"}]\n',
        'rules[0].paths[0].threshold',
        "expected a whole number of at least 1; found the string '2'",
      ],
    ];
    for (const [body, path, message] of cases) {
      const problem = only(withRule(body));
      expect({ path: problem.path, message: problem.message }, body).toEqual({ path, message });
    }
    expect(only('version: 1\nkeys:\n  openpgp: 3\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n')).toEqual({
      path: 'keys.openpgp',
      line: 3,
      column: 12,
      message: 'expected keyring file as a string; found the number 3',
    });
    expect(only('version: 1\nkeys:\n  ssh_allowed_signers: ""\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n').message).toBe(
      'expected a non-empty string',
    );
    expect(only('version: 1\nkeys: [a]\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n').path).toBe('keys');
    expect(only('version: 1\ngroups: [a]\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n').message).toBe(
      'expected a mapping of group names to lists of signers; found a list',
    );
    expect(only('version: 1\nrules:\n  - refs/heads/main\n')).toMatchObject({ path: 'rules[0]', line: 3, column: 5 });
  });

  it('points at the right line in lists and flow sequences', () => {
    const text = withRule('    require_signed_commits: true\n    accept:\n      - G\n      - Q\n');
    expect(only(text)).toEqual({ path: 'rules[0].accept[1]', line: 7, column: 9, message: "unknown status letter 'Q'; a rule may accept G, X and Y" });
    expect(only(withRule('    require_signed_commits: true\n    accept: [G, g]\n'))).toEqual({
      path: 'rules[0].accept[1]',
      line: 5,
      column: 17,
      message: "status letters are upper case: write 'G'",
    });
  });
});

describe('checkPolicy: status letters', () => {
  it('accepts G, X and Y and refuses the letters that would let bad commits in', () => {
    expect(parsePolicy(withRule('    require_signed_commits: true\n    accept: [G, X, Y, Y]\n'), 'p').rules[0]!.accept).toEqual(['G', 'X', 'Y']);
    const refusals: Record<string, RegExp> = { B: /bad signature/, U: /not in the registry/, E: /cannot be checked/, R: /revoked/, N: /no signature/ };
    for (const [letter, pattern] of Object.entries(refusals)) {
      const problem = only(withRule(`    require_signed_commits: true\n    accept: [G, ${letter}]\n`));
      expect(problem.path).toBe('rules[0].accept[1]');
      expect(problem.message).toMatch(pattern);
    }
    expect(only(withRule('    require_signed_commits: true\n    accept: [Y]\n'))).toMatchObject({
      path: 'rules[0].accept',
      message: "accept must include 'G' (a good signature by a registry key)",
    });
    expect(only(withRule('    require_signed_commits: true\n    accept: [GY]\n')).message).toBe("unknown status letter 'GY'; a rule may accept G, X and Y");
  });
});

describe('checkPolicy: glob patterns', () => {
  const badRefs: Array<[string, RegExp]> = [
    ['main', /did you mean 'refs\/heads\/main'/],
    ['heads/main', /did you mean 'refs\/heads\/main'/],
    ['refs/heads/re**', /'\*\*' must be a whole path component/],
    ['refs/heads/[abc', /unclosed '\['/],
    ['refs/heads/[z-a]', /reversed range/],
    ['refs/heads/a]', /unmatched '\]'/],
    ['refs/heads/a\\', /escapes nothing/],
    ['refs//heads', /empty path component/],
    ['refs/heads/', /write 'refs\/heads\/\*\*'/],
    ['refs/heads/a..b', /'\.\.'/],
    ['refs/heads/a b', /" "/],
    ['refs/heads/a~1', /"~"/],
    ['refs/heads/.hidden', /cannot start with '\.'/],
    ['refs/heads/x.lock', /cannot end with '\.lock'/],
    ['refs/heads/x@{1}', /'@\{'/],
  ];
  for (const [pattern, message] of badRefs) {
    it(`refuses ref pattern ${JSON.stringify(pattern)}`, () => {
      const problem = only(withRule('    forbid_deletion: true\n').replace('[refs/heads/main]', JSON.stringify([pattern])));
      expect(problem.path).toBe('rules[0].refs[0]');
      expect(problem.line).toBe(3);
      expect(problem.message).toMatch(message);
    });
  }

  it('refuses bad path patterns', () => {
    const cases: Array<[string, RegExp]> = [
      ['/abs', /relative to the repository root: write 'abs'/],
      ['a/**b', /whole path component/],
      ['[', /unclosed/],
      ['a//b', /empty path component/],
      ['[[:alpha:]]', /not supported/],
    ];
    for (const [pattern, message] of cases) {
      const problem = only(
        withRule(`    require_signed_commits: true\n    paths:\n      - match: [x, ${JSON.stringify(pattern)}]\n        signers: [a@b.c]\n`),
      );
      expect(problem).toMatchObject({ path: 'rules[0].paths[0].match[1]', line: 6 });
      expect(problem.message).toMatch(message);
    }
  });
});

describe('checkPolicy: signers and groups', () => {
  it('refuses malformed signer entries', () => {
    const cases: Array<[string, RegExp]> = [
      ['"0x1A2B3C4D"', /short key id/],
      ['"1A2B3C4D"', /short key id/],
      ['"0x1234"', /neither a fingerprint/],
      ['"0123456789ABCDEF0123456789ABCDEF0123456"', /neither a fingerprint/],
      ['"sha256:abc"', /upper-case prefix/],
      ['"SHA256:tooshort"', /43 base64 characters/],
      ['"MD5:aa:bb"', /MD5/],
      ['"Alice <alice@example.com>"', /write just the e-mail address: 'alice@example.com'/],
      ['"*@example.com"', /wildcards/],
      ['"a@b@c"', /not an e-mail address/],
      ['"ops-*"', /wildcards/],
      ['"group:"', /not a valid group reference/],
      ['"two words"', /white space/],
    ];
    for (const [entry, message] of cases) {
      const problem = only(withRule(`    require_signed_commits: true\n    signers: [${entry}]\n`));
      expect(problem.path, entry).toBe('rules[0].signers[0]');
      expect(problem.message, entry).toMatch(message);
    }
  });

  it('refuses unknown groups, with a suggestion', () => {
    const text = withRule('    require_signed_commits: true\n    signers: [group:relase]\n', 'groups:\n  release: [a@b.c]\n');
    expect(only(text)).toEqual({ path: 'rules[0].signers[0]', line: 7, column: 15, message: "unknown group 'relase' (did you mean 'group:release'?)" });
    expect(only(withRule('    require_signed_commits: true\n    signers: [group:x]\n')).message).toBe("unknown group 'x' (the policy defines no groups)");
    expect(only('version: 1\ngroups:\n  a: [group:zzz]\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n').path).toBe('groups.a[0]');
  });

  it('refuses group cycles, naming the cycle at the member that closes it', () => {
    const text = `version: 1
groups:
  a: [x@y.z, group:b]
  b: [group:c]
  c: [group:a]
  self: [group:self]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    signers: [group:a]
`;
    const problems = problemsOf(text);
    expect(problems).toEqual([
      { path: 'groups.c[0]', line: 5, column: 7, message: 'group cycle: a → b → c → a' },
      { path: 'groups.self[0]', line: 6, column: 10, message: 'group cycle: self → self' },
    ]);
  });

  it('refuses empty groups used as allow-lists and bad group names', () => {
    expect(only('version: 1\ngroups:\n  e: []\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n').path).toBe('groups.e');
    expect(only('version: 1\ngroups:\n  "bad name": [a@b.c]\nrules:\n  - refs: [refs/heads/main]\n    forbid_deletion: true\n')).toMatchObject({
      path: 'groups',
      line: 3,
      column: 3,
    });
  });
});

describe('checkPolicy: fields that would be inert are errors', () => {
  it('refuses signers, accept, require_email_match and paths without a signing requirement', () => {
    const problems = problemsOf(
      withRule(
        '    forbid_deletion: true\n    signers: [a@b.c]\n    accept: [G]\n    require_email_match: true\n    paths: [{match: [a], signers: [a@b.c]}]\n',
      ),
    );
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['rules[0].signers', 5],
      ['rules[0].accept', 6],
      ['rules[0].require_email_match', 7],
      ['rules[0].paths', 8],
    ]);
    expect(problems[0]!.message).toBe('signers has no effect unless require_signed_commits, require_signed_tags or require_signed_push is true');
    expect(problems[3]!.message).toBe('paths checks commit signatures: it needs require_signed_commits: true');
  });

  it('refuses a rule that requires nothing, and a path rule that adds nothing', () => {
    expect(only(withRule('    refuse_sha1: true\n'))).toMatchObject({
      path: 'rules[0]',
      line: 3,
      column: 5,
      message: expect.stringMatching(/requires nothing/),
    });
    expect(only(withRule('    require_signed_commits: true\n    paths: [{match: [a]}]\n'))).toMatchObject({
      path: 'rules[0].paths[0]',
      message: expect.stringMatching(/adds nothing/),
    });
    expect(only(withRule('    require_signed_commits: true\n    paths: [{signers: [a@b.c]}]\n')).message).toMatch(/missing field 'match'/);
    expect(only('version: 1\nrules:\n  - forbid_deletion: true\n')).toMatchObject({ path: 'rules[0]', message: expect.stringMatching(/missing field 'refs'/) });
  });

  it('refuses require_signed_tags on rules that can never match a tag', () => {
    expect(only(withRule('    require_signed_tags: true\n'))).toMatchObject({ path: 'rules[0].require_signed_tags', line: 4, column: 26 });
    expect(parsePolicy(withRule('    require_signed_tags: true\n').replace('refs/heads/main', 'refs/**'), 'p').rules[0]!.requireSignedTags).toBe(true);
    expect(parsePolicy(withRule('    require_signed_tags: true\n').replace('refs/heads/main', 'refs/t*/v1'), 'p').rules[0]!.requireSignedTags).toBe(true);
  });

  it('refuses a threshold no allow-list can meet', () => {
    expect(only(withRule('    require_signed_commits: true\n    paths: [{match: [a], signers: [a@b.c, d@e.f], threshold: 3}]\n'))).toMatchObject({
      path: 'rules[0].paths[0].threshold',
      message: 'threshold 3 can never be met: only 2 signer entries are allowed',
    });
    expect(only(withRule('    require_signed_commits: true\n    signers: [a@b.c]\n    paths: [{match: [a], threshold: 2}]\n')).path).toBe(
      'rules[0].paths[0].threshold',
    );
  });

  it('collects every problem of a broken file, sorted by position', () => {
    const text = `version: 1
keys:
  forge_accounts: maybe
groups:
  g: [group:nope]
rules:
  - refs: [main]
    require_signed_commits: true
    accept: [B]
  - refs: [refs/tags/*]
    require_signed_tags: 1
`;
    const problems = problemsOf(text);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      '3:19 keys.forge_accounts',
      '5:7 groups.g[0]',
      '7:12 rules[0].refs[0]',
      '9:14 rules[0].accept[0]',
      '11:26 rules[1].require_signed_tags',
    ]);
  });
});

describe('parsed policies are immutable', () => {
  it('freezes the policy deeply, so no caller can loosen a shared policy by mutation', () => {
    const policy = parsePolicy(FULL, 'p.yml');
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.rules[0]!.refs)).toBe(true);
    expect(Object.isFrozen(policy.rules[0]!.allowedSigners![0])).toBe(true);
    expect(() => (policy.rules[0]!.refs as string[]).push('refs/heads/x')).toThrow(TypeError);
  });
});

describe('docs/policy.md', () => {
  it('shows an example that parses', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../../docs/policy.md', import.meta.url), 'utf8');
    const example = /## Example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const policy = parsePolicy(example!, 'docs/policy.md');
    expect(policy.rules.map((rule) => rule.refs)).toEqual([['refs/heads/main', 'refs/heads/release/*'], ['refs/tags/v*']]);
    expect(policy.rules[0]!.allowedSigners!.map((entry) => entry.kind)).toEqual(['email', 'ssh', 'keyid', 'principal']);
  });
});

describe('checkPolicy: release images', () => {
  const base = 'version: 1\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n';
  it('reads the images /sign-release signs, {tag} kept for the release tag', () => {
    const policy = parsePolicy(
      `${base}release:\n  images: ["ghcr.io/o/app:{tag}", "127.0.0.1:5000/o/cli:{tag}-slim", "registry.example/o/base@sha256:${'a'.repeat(64)}"]\n`,
      'signet.yml',
    );
    expect(policy.release).toEqual({ images: ['ghcr.io/o/app:{tag}', '127.0.0.1:5000/o/cli:{tag}-slim', `registry.example/o/base@sha256:${'a'.repeat(64)}`] });
    expect(parsePolicy(base, 'signet.yml').release).toBeUndefined();
  });

  it('names a malformed image reference, a pinned one with {tag}, and unknown fields', () => {
    const problems = problemsOf(`${base}release:\n  images:\n    - ghcr.io/O/App:{tag}\n    - "ghcr.io/o/app:{tag}@sha256:${'b'.repeat(64)}"\n  imagse: []\n`);
    expect(problems.map((p) => `${p.path}@${p.line}`)).toEqual(['release.images[0]@7', 'release.images[1]@8', 'release.imagse@9']);
    expect(problems[0]!.message).toMatch(/invalid repository 'O\/App'.*'\{tag\}' stands for the release tag/);
    expect(problems[1]!.message).toMatch(/cannot also name \{tag\}/);
    expect(problems[2]!.message).toMatch(/did you mean 'images'/);
  });
});
