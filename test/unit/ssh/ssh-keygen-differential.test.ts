/**
 * Differential: keys and signatures made by the real ssh-keygen; for every case, ssh-keygen's
 * answer computed the way git asks it (find-principals / verify / check-novalidate) against ours.
 * Our letter equals git's except the documented refinements: Y where git says U because the key
 * is outside its valid-after/valid-before, and R for revoked keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnThreadPool } from '../../../src/core/native-verify.ts';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys, verifySshSignature, verifySshSignatureWith } from '../../../src/core/ssh/index.ts';
import { inPool, SshKeygen, type GitAnswer } from '../../helpers/ssh-keygen.ts';

const AT = Date.UTC(2025, 5, 1, 12, 0, 0) / 1000;
const PAYLOAD =
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1748779200 +0000\ncommitter A <alice@example.com> 1748779200 +0000\n\nsigned commit\n';
const TAMPERED = PAYLOAD.replace('signed commit', 'signed commiT');

interface KeyCase {
  name: string;
  type: string;
  bits?: number;
}

const KEYS: KeyCase[] = [
  { name: 'ed25519', type: 'ed25519' },
  { name: 'ecdsa-256', type: 'ecdsa', bits: 256 },
  { name: 'ecdsa-384', type: 'ecdsa', bits: 384 },
  { name: 'ecdsa-521', type: 'ecdsa', bits: 521 },
  { name: 'rsa-3072', type: 'rsa', bits: 3072 },
];

interface Made {
  publicLine: string;
  /** Signatures for namespace git with the default hash (sha512) and with sha256, and for namespace file. */
  git: string;
  gitSha256: string;
  file: string;
}

let keygen: SshKeygen;
const made = new Map<string, Made>();
let otherKey: string;
const gitAnswers = new Map<string, GitAnswer>();

beforeAll(async () => {
  keygen = new SshKeygen('ssh-diff');
  for (const key of KEYS) {
    const { privatePath, publicLine } = keygen.keygen(key.name, key.type, key.bits);
    made.set(key.name, {
      publicLine,
      git: keygen.sign(privatePath, PAYLOAD),
      gitSha256: keygen.sign(privatePath, PAYLOAD, 'git', 'sha256'),
      file: keygen.sign(privatePath, PAYLOAD, 'file'),
    });
  }
  otherKey = keygen.keygen('other', 'ed25519').publicLine;
  // git's answers for every key and scenario, computed up front with a few ssh-keygen at a time.
  const pairs = KEYS.flatMap((key) => SCENARIOS.map((scenario) => ({ key, scenario })));
  const answers = await inPool(
    4,
    pairs.map(
      ({ key, scenario }) =>
        () =>
          theirs(scenario, made.get(key.name) as Made),
    ),
  );
  pairs.forEach(({ key, scenario }, i) => gitAnswers.set(`${key.name}/${scenario.name}`, answers[i] as GitAnswer));
});

afterAll(() => keygen?.remove());

type Expectation = 'same' | 'expired' | 'revoked';

interface Scenario {
  name: string;
  allowed: (key: string) => string;
  signature?: 'git' | 'gitSha256' | 'file';
  payload?: string;
  revoked?: (key: string) => string;
  expect: Expectation;
}

const SCENARIOS: Scenario[] = [
  { name: 'good', allowed: (k) => `alice@example.com ${k}\n`, expect: 'same' },
  { name: 'good, sha256', allowed: (k) => `alice@example.com ${k}\n`, signature: 'gitSha256', expect: 'same' },
  { name: 'tampered payload', allowed: (k) => `alice@example.com ${k}\n`, payload: TAMPERED, expect: 'same' },
  { name: 'tampered payload, unknown key', allowed: () => `alice@example.com ${otherKey}\n`, payload: TAMPERED, expect: 'same' },
  { name: 'wrong namespace (-n file)', allowed: (k) => `alice@example.com ${k}\n`, signature: 'file', expect: 'same' },
  { name: 'key not in allowed_signers', allowed: () => `# nobody\nalice@example.com ${otherKey}\n`, expect: 'same' },
  { name: 'valid-before in the past', allowed: (k) => `alice@example.com valid-before="20200101Z" ${k}\n`, expect: 'expired' },
  { name: 'valid-after in the future', allowed: (k) => `alice@example.com valid-after="20990101" ${k}\n`, expect: 'expired' },
  { name: 'inside valid-after/valid-before', allowed: (k) => `alice@example.com valid-after="20250101",valid-before="20260101Z" ${k}\n`, expect: 'same' },
  { name: 'namespaces="file"', allowed: (k) => `alice@example.com namespaces="file" ${k}\n`, expect: 'same' },
  { name: 'namespaces="file,g*"', allowed: (k) => `alice@example.com namespaces="file,g*" ${k}\n`, expect: 'same' },
  { name: 'namespaces="*,!git"', allowed: (k) => `alice@example.com namespaces="*,!git" ${k}\n`, expect: 'same' },
  {
    name: 'first line namespaces="file", second line git for another principal',
    allowed: (k) => `alice@example.com namespaces="file" ${k}\nbob@example.com namespaces="git" ${k}\n`,
    expect: 'same',
  },
  {
    name: 'first line expired, second line valid',
    allowed: (k) => `old@example.com valid-before="20200101Z" ${k}\nnew@example.com ${k}\n`,
    expect: 'same',
  },
  { name: 'revoked and allowed', allowed: (k) => `alice@example.com ${k}\n`, revoked: (k) => `# revoked\n${k}\n`, expect: 'revoked' },
  { name: 'revoked, not allowed', allowed: () => `alice@example.com ${otherKey}\n`, revoked: (k) => `${otherKey}\n${k}\n`, expect: 'revoked' },
  { name: 'revocation list names another key', allowed: (k) => `alice@example.com ${k}\n`, revoked: () => `${otherKey}\n`, expect: 'same' },
  { name: 'wildcard principal', allowed: (k) => `*@example.com ${k}\n`, expect: 'same' },
  { name: 'principal list', allowed: (k) => `alice@example.com,bob@example.com ${k}\n`, expect: 'same' },
  { name: 'negation before wildcard', allowed: (k) => `!bob@example.com,*@example.com ${k}\n`, expect: 'same' },
  { name: 'only a negated principal', allowed: (k) => `!mallory@example.com ${k}\n`, expect: 'same' },
  { name: 'quoted principal with a space', allowed: (k) => `"Alice Example" ${k}\n`, expect: 'same' },
  { name: 'principal list with an empty entry', allowed: (k) => `,alice@example.com ${k}\n`, expect: 'same' },
];

function oursWith<T>(verify: (...args: Parameters<typeof verifySshSignature>) => T, scenario: Scenario, made: Made): T {
  const allowed = parseAllowedSigners(scenario.allowed(made.publicLine), 'allowed_signers');
  const revoked = scenario.revoked ? parseRevokedKeys(Buffer.from(scenario.revoked(made.publicLine)), 'revoked_keys') : undefined;
  const registry = createSshRegistry(allowed, revoked);
  return verify(registry, Buffer.from(scenario.payload ?? PAYLOAD), made[scenario.signature ?? 'git'], {
    at: new Date(AT * 1000),
    committerEmail: 'alice@example.com',
  });
}

function ours(scenario: Scenario, made: Made) {
  return oursWith(verifySshSignature, scenario, made);
}

function theirs(scenario: Scenario, made: Made): Promise<GitAnswer> {
  return keygen.gitVerdict({
    payload: scenario.payload ?? PAYLOAD,
    signature: made[scenario.signature ?? 'git'],
    allowedSigners: scenario.allowed(made.publicLine),
    at: AT,
    ...(scenario.revoked ? { revoked: scenario.revoked(made.publicLine) } : {}),
  });
}

describe.each(KEYS)('$name keys made by ssh-keygen', (key) => {
  it.each(SCENARIOS)("$name: our letter is git's", async (scenario) => {
    const m = made.get(key.name) as Made;
    const verdict = ours(scenario, m);
    // The cryptography on the thread pool (as `signet verify` runs it) gives the same verdict.
    const onPool = await oursWith((...args) => verifySshSignatureWith(runOnThreadPool, ...args), scenario, m);
    expect(onPool).toEqual(verdict);
    const git = gitAnswers.get(`${key.name}/${scenario.name}`) as GitAnswer;
    switch (scenario.expect) {
      case 'same':
        expect(verdict.status, verdict.detail).toBe(git.letter);
        if (git.letter === 'G') expect(verdict.signer).toBe(git.principal);
        break;
      case 'expired':
        // git says U (find-principals skips the line); we say the key is known but expired.
        expect(git.letter).toBe('U');
        expect(verdict.status, verdict.detail).toBe('Y');
        expect(verdict.reason).toBe('expired_key');
        break;
      case 'revoked':
        // git says B (verify -r refuses) or U (check-novalidate never reads the revocation file).
        expect(['B', 'U']).toContain(git.letter);
        expect(verdict.status, verdict.detail).toBe('R');
        expect(verdict.reason).toBe('revoked_key');
        break;
    }
    expect(verdict.format).toBe('ssh');
    if (verdict.status !== 'E') expect(verdict.key).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('verdict details against ssh-keygen', () => {
  it('reports the fingerprint ssh-keygen prints and the hash algorithm', () => {
    const m = made.get('ecdsa-384') as Made;
    const fingerprint = keygen.run(['-l', '-E', 'sha256', '-f', keygen.path('ecdsa-384.pub')]).stdout.split(' ')[1];
    const registry = createSshRegistry(parseAllowedSigners(`alice@example.com ${m.publicLine}\n`, 'a'));
    const verdict = verifySshSignature(registry, Buffer.from(PAYLOAD), m.gitSha256, { at: new Date(AT * 1000), committerEmail: 'Alice@Example.com' });
    expect(verdict).toMatchObject({
      status: 'G',
      reason: 'valid',
      key: fingerprint,
      signer: 'alice@example.com',
      identities: ['alice@example.com'],
      emailMatches: true,
      hashAlgorithm: 'sha256',
    });
  });

  it('emailMatches follows the principal patterns, negation included', () => {
    const m = made.get('ed25519') as Made;
    const registry = createSshRegistry(parseAllowedSigners(`!bob@example.com,*@example.com ${m.publicLine}\n`, 'a'));
    const at = new Date(AT * 1000);
    const check = (email: string) => verifySshSignature(registry, Buffer.from(PAYLOAD), m.git, { at, committerEmail: email }).emailMatches;
    expect(check('carol@example.com')).toBe(true);
    expect(check('bob@example.com')).toBe(false);
    expect(check('carol@example.org')).toBe(false);
  });

  it('explains the refinements: Y carries when the key expired, B names the namespace', () => {
    const m = made.get('ed25519') as Made;
    const at = new Date(AT * 1000);
    const expired = verifySshSignature(
      createSshRegistry(parseAllowedSigners(`a@x valid-before="20200101Z" ${m.publicLine}`, 'as')),
      Buffer.from(PAYLOAD),
      m.git,
      { at },
    );
    expect(expired).toMatchObject({ status: 'Y', keyExpiredAt: Date.UTC(2020, 0, 1) / 1000 });
    expect(expired.detail).toContain('as:1');
    const wrongNamespace = verifySshSignature(
      createSshRegistry(parseAllowedSigners(`a@x namespaces="file" ${m.publicLine}`, 'as')),
      Buffer.from(PAYLOAD),
      m.git,
      { at },
    );
    expect(wrongNamespace).toMatchObject({ status: 'B', reason: 'wrong_namespace' });
    const fileSignature = verifySshSignature(createSshRegistry([]), Buffer.from(PAYLOAD), m.file, { at });
    expect(fileSignature).toMatchObject({ status: 'B', reason: 'wrong_namespace' });
    expect(verifySshSignature(createSshRegistry([]), Buffer.from(PAYLOAD), m.file, { at, namespace: 'file' }).status).toBe('U');
  });
});
