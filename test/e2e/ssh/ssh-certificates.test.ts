/**
 * OpenSSH certificates (cert-authority lines): certificates made by `ssh-keygen -s`, signatures
 * by `ssh-keygen -Y sign -f key-cert.pub`, and git's answer computed with ssh-keygen for each
 * case, as in the plain-key differential test (Y for expired certificates, R for revoked ones).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys, verifySshSignature } from '../../../src/core/ssh/index.ts';
import { armor, dearmorLoosely } from '../../helpers/ssh-forge.ts';
import { inPool, SshKeygen, type GitAnswer } from '../../helpers/ssh-keygen.ts';

const AT = Date.UTC(2025, 5, 1, 12, 0, 0) / 1000;
const PAYLOAD =
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1748779200 +0000\ncommitter A <alice@example.com> 1748779200 +0000\n\ncertified\n';

let keygen: SshKeygen;
const ca: Record<string, string> = {}; // CA name → public line
const signatures: Record<string, string> = {}; // certificate name → armored signature
const userFingerprints: Record<string, string> = {};
const gitAnswers = new Map<string, GitAnswer>();

interface CertSpec {
  name: string;
  user: 'ed25519' | 'ecdsa' | 'rsa';
  ca: 'ed25519' | 'rsa' | 'ecdsa' | 'other';
  args: string[];
}

const CERTS: CertSpec[] = [
  { name: 'ed25519', user: 'ed25519', ca: 'ed25519', args: ['-n', 'alice@example.com,bob', '-V', '20200101:20300101', '-z', '42', '-I', 'alice-id'] },
  { name: 'ecdsa-by-rsa-ca', user: 'ecdsa', ca: 'rsa', args: ['-n', 'alice@example.com', '-V', '20200101:20300101', '-z', '7', '-I', 'alice-ecdsa'] },
  { name: 'rsa-by-ecdsa-ca', user: 'rsa', ca: 'ecdsa', args: ['-n', 'alice@example.com', '-V', '20200101:20300101', '-I', 'alice-rsa'] },
  { name: 'expired', user: 'ed25519', ca: 'ed25519', args: ['-n', 'alice@example.com', '-V', '20200101:20210101', '-I', 'old'] },
  { name: 'not-yet-valid', user: 'ed25519', ca: 'ed25519', args: ['-n', 'alice@example.com', '-V', '20290101:20300101', '-I', 'future'] },
  { name: 'no-principals', user: 'ed25519', ca: 'ed25519', args: ['-V', '20200101:20300101', '-I', 'anyone'] },
  { name: 'host', user: 'ed25519', ca: 'ed25519', args: ['-h', '-n', 'alice@example.com', '-V', '20200101:20300101', '-I', 'host'] },
  { name: 'other-ca', user: 'ed25519', ca: 'other', args: ['-n', 'alice@example.com', '-V', '20200101:20300101', '-I', 'stranger'] },
];

type Expectation = 'same' | 'expired' | 'revoked';

interface Scenario {
  name: string;
  cert: string;
  allowed: () => string;
  revoked?: () => string | Uint8Array;
  payload?: string;
  expect: Expectation;
  signer?: string;
}

const line = (principals: string, options = 'cert-authority', who = 'ed25519') => `${principals} ${options} ${ca[who]}\n`;

const SCENARIOS: Scenario[] = [
  { name: 'wildcard principal', cert: 'ed25519', allowed: () => line('*@example.com'), expect: 'same', signer: 'alice@example.com' },
  { name: 'exact principal', cert: 'ed25519', allowed: () => line('alice@example.com'), expect: 'same', signer: 'alice@example.com' },
  { name: 'second certificate principal', cert: 'ed25519', allowed: () => line('bob'), expect: 'same', signer: 'bob' },
  { name: 'both principals allowed', cert: 'ed25519', allowed: () => line('alice@example.com,bob'), expect: 'same', signer: 'alice@example.com' },
  { name: 'principal not in the certificate', cert: 'ed25519', allowed: () => line('carol@example.com'), expect: 'same' },
  { name: 'CA trusted only for namespace file', cert: 'ed25519', allowed: () => line('*@example.com', 'cert-authority,namespaces="file"'), expect: 'same' },
  { name: 'CA line expired', cert: 'ed25519', allowed: () => line('*@example.com', 'cert-authority,valid-before="20200101Z"'), expect: 'expired' },
  { name: 'CA listed without cert-authority', cert: 'ed25519', allowed: () => `alice@example.com ${ca['ed25519']}\n`, expect: 'same' },
  { name: 'tampered payload', cert: 'ed25519', allowed: () => line('*@example.com'), payload: PAYLOAD + 'x', expect: 'same' },
  { name: 'RSA CA', cert: 'ecdsa-by-rsa-ca', allowed: () => line('alice@example.com', 'cert-authority', 'rsa'), expect: 'same', signer: 'alice@example.com' },
  {
    name: 'ECDSA CA, RSA user key',
    cert: 'rsa-by-ecdsa-ca',
    allowed: () => line('alice@example.com', 'cert-authority', 'ecdsa'),
    expect: 'same',
    signer: 'alice@example.com',
  },
  { name: 'expired certificate', cert: 'expired', allowed: () => line('*@example.com'), expect: 'expired' },
  { name: 'certificate not yet valid', cert: 'not-yet-valid', allowed: () => line('*@example.com'), expect: 'expired' },
  { name: 'certificate without principals', cert: 'no-principals', allowed: () => line('*'), expect: 'same' },
  { name: 'host certificate', cert: 'host', allowed: () => line('*@example.com'), expect: 'same' },
  { name: 'certificate from an untrusted CA', cert: 'other-ca', allowed: () => line('*@example.com'), expect: 'same' },
  { name: 'serial revoked in a KRL', cert: 'ed25519', allowed: () => line('*@example.com'), revoked: () => krl('serial: 42'), expect: 'revoked' },
  { name: 'serial range revoked in a KRL', cert: 'ed25519', allowed: () => line('*@example.com'), revoked: () => krl('serial: 40-50'), expect: 'revoked' },
  { name: 'key id revoked in a KRL', cert: 'ed25519', allowed: () => line('*@example.com'), revoked: () => krl('id: alice-id'), expect: 'revoked' },
  {
    name: 'another serial revoked in a KRL',
    cert: 'ed25519',
    allowed: () => line('*@example.com'),
    revoked: () => krl('serial: 43'),
    expect: 'same',
    signer: 'alice@example.com',
  },
  {
    name: 'CA listed in a plain revoked keys file',
    cert: 'ed25519',
    allowed: () => line('*@example.com'),
    revoked: () => `${ca['ed25519']}\n`,
    expect: 'revoked',
  },
];

const krls = new Map<string, Uint8Array>();
function krl(spec: string): Uint8Array {
  return krls.get(spec) as Uint8Array;
}

beforeAll(async () => {
  keygen = new SshKeygen('ssh-cert');
  for (const [name, type, bits] of [
    ['ed25519', 'ed25519'],
    ['rsa', 'rsa', 2048],
    ['ecdsa', 'ecdsa', 384],
    ['other', 'ed25519'],
  ] as const) {
    ca[name] = keygen.keygen(`ca-${name}`, type, bits).publicLine;
  }
  for (const spec of CERTS) {
    const user = keygen.keygen(`user-${spec.name}`, spec.user, spec.user === 'rsa' ? 2048 : undefined);
    keygen.run(['-q', '-s', keygen.path(`ca-${spec.ca}`), ...spec.args, `${user.privatePath}.pub`]);
    signatures[spec.name] = keygen.sign(`${user.privatePath}-cert.pub`, PAYLOAD);
    userFingerprints[spec.name] = keygen.run(['-l', '-E', 'sha256', '-f', `${user.privatePath}.pub`]).stdout.split(' ')[1] as string;
  }
  for (const spec of ['serial: 42', 'serial: 40-50', 'id: alice-id', 'serial: 43']) {
    const file = keygen.write(keygen.unique('krl-spec'), `${spec}\n`);
    const out = keygen.path(keygen.unique('krl'));
    keygen.run(['-k', '-f', out, '-s', keygen.path('ca-ed25519.pub'), file]);
    krls.set(spec, readFileSync(out));
  }
  const answers = await inPool(
    4,
    SCENARIOS.map(
      (scenario) => () =>
        keygen.gitVerdict({
          payload: scenario.payload ?? PAYLOAD,
          signature: signatures[scenario.cert] as string,
          allowedSigners: scenario.allowed(),
          at: AT,
          ...(scenario.revoked ? { revoked: scenario.revoked() } : {}),
        }),
    ),
  );
  SCENARIOS.forEach((scenario, i) => gitAnswers.set(scenario.name, answers[i] as GitAnswer));
});

afterAll(() => keygen?.remove());

function ours(scenario: Scenario) {
  const revoked = scenario.revoked ? parseRevokedKeys(Buffer.from(scenario.revoked()), 'revoked') : undefined;
  const registry = createSshRegistry(parseAllowedSigners(scenario.allowed(), 'allowed_signers'), revoked);
  return verifySshSignature(registry, Buffer.from(scenario.payload ?? PAYLOAD), signatures[scenario.cert] as string, {
    at: new Date(AT * 1000),
    committerEmail: 'alice@example.com',
  });
}

describe('certificate signatures made by ssh-keygen', () => {
  it('the cases cover every answer git gives', () => {
    expect(new Set([...gitAnswers.values()].map((answer) => answer.letter))).toEqual(new Set(['G', 'U', 'B']));
  });

  it.each(SCENARIOS)("$name: our letter is git's", (scenario) => {
    const verdict = ours(scenario);
    const git = gitAnswers.get(scenario.name) as GitAnswer;
    if (scenario.expect === 'same') {
      expect(verdict.status, verdict.detail).toBe(git.letter);
      if (git.letter === 'G') expect(verdict.signer).toBe(git.principal);
      if (scenario.signer) expect(verdict.signer).toBe(scenario.signer);
    } else if (scenario.expect === 'expired') {
      expect(git.letter).toBe('U');
      expect(verdict.status, verdict.detail).toBe('Y');
    } else {
      expect(['B', 'U']).toContain(git.letter);
      expect(verdict.status, verdict.detail).toBe('R');
    }
    // ssh-keygen names a certificate signer by the certified key's fingerprint.
    expect(verdict.key).toBe(userFingerprints[scenario.cert]);
  });

  it('a G verdict names the certificate, and emailMatches needs the certificate to name the address', () => {
    const verdict = ours(SCENARIOS[0] as Scenario);
    expect(verdict).toMatchObject({ status: 'G', identities: ['alice@example.com'], emailMatches: true });
    expect(verdict.detail).toMatch(/certificate "alice-id" \(serial 42\) issued by CA SHA256:/);
    const registry = createSshRegistry(parseAllowedSigners(line('*@example.com'), 'as'));
    const asCarol = verifySshSignature(registry, Buffer.from(PAYLOAD), signatures['ed25519'] as string, {
      at: new Date(AT * 1000),
      committerEmail: 'carol@example.com',
    });
    expect(asCarol).toMatchObject({ status: 'G', emailMatches: false });
  });

  it("an expired certificate is Y with the certificate's end as keyExpiredAt", () => {
    const verdict = ours(SCENARIOS.find((s) => s.name === 'expired certificate') as Scenario);
    expect(verdict).toMatchObject({ status: 'Y', reason: 'expired_key', keyExpiredAt: new Date(2021, 0, 1).getTime() / 1000 });
  });

  it('a certificate whose CA signature was altered is B, as ssh-keygen cannot read it', () => {
    const good = dearmorLoosely(signatures['ed25519'] as string);
    // The certificate sits inside the SSHSIG blob: change one principal byte (alice → blice).
    const at = good.indexOf(Buffer.from('alice@example.com'));
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(good);
    forged.writeUInt8(0x62, at);
    const signature = armor(forged);
    expect(keygen.checkNovalidate(PAYLOAD, signature)).toBe(false);
    const registry = createSshRegistry(parseAllowedSigners(line('*@example.com'), 'as'));
    const verdict = verifySshSignature(registry, Buffer.from(PAYLOAD), signature, { at: new Date(AT * 1000) });
    expect(verdict).toMatchObject({ status: 'B', reason: 'invalid' });
    expect(verdict.detail).toMatch(/CA's signature on the certificate/);
  });
});
