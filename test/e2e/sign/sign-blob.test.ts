import { createPrivateKey, createPublicKey } from 'node:crypto';
import { appendFileSync, chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCosignPrivateKey } from '../../../src/core/sign/cosign-key.ts';
import { isSignetError } from '../../../src/core/errors.ts';
import { makeTempDir, mustRun, runSignet, runSignetBinary, sharedFixtures, tool } from '../../helpers/sign-cli.ts';
import { sigstoreVerify } from '../../helpers/sign-sigstore.ts';

const fixtureKey = join(sharedFixtures, 'cosign', 'sigstore-encrypted.key');
const password = 'correct horse battery staple';
let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
const env = (): NodeJS.ProcessEnv => ({ COSIGN_PASSWORD: password });

beforeAll(async () => {
  tmp = makeTempDir('signet-sign-blob-');
  dir = tmp.dir;
  const generated = await runSignet(['generate-key-pair'], { cwd: dir, env: env() });
  expect(generated.code, generated.stderr).toBe(0);
  writeFileSync(join(dir, 'artifact.txt'), 'release artifact\n');
  // Several MiB so the streamed path crosses many read chunks.
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < 9; i += 1) appendFileSync(join(dir, 'large.bin'), chunk.fill(i * 17 + 3));
});
afterAll(() => tmp.cleanup());

describe('generate-key-pair', () => {
  it("writes cosign's encrypted PEM (mode 0600) and an SPKI public key openssl reads", async () => {
    const key = readFileSync(join(dir, 'cosign.key'), 'utf8');
    expect(key.startsWith('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n')).toBe(true);
    const envelope = JSON.parse(Buffer.from(key.split('\n').slice(1, -2).join(''), 'base64').toString('utf8'));
    expect(envelope.kdf).toMatchObject({ name: 'scrypt', params: { N: 32768, r: 8, p: 1 } });
    expect(Buffer.from(envelope.kdf.salt, 'base64')).toHaveLength(32);
    expect(envelope.cipher.name).toBe('nacl/secretbox');
    expect(Buffer.from(envelope.cipher.nonce, 'base64')).toHaveLength(24);
    expect(statSync(join(dir, 'cosign.key')).mode & 0o777).toBe(0o600);
    const opened = await readCosignPrivateKey(key, password, 'cosign.key');
    expect(opened.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const pub = readFileSync(join(dir, 'cosign.pub'), 'utf8');
    expect(createPublicKey(opened).export({ format: 'pem', type: 'spki' })).toBe(pub);
    expect(mustRun('openssl', ['pkey', '-pubin', '-in', join(dir, 'cosign.pub'), '-noout', '-text'])).toContain('prime256v1');
  });

  it('refuses to overwrite, and needs COSIGN_PASSWORD', async () => {
    const again = await runSignet(['generate-key-pair'], { cwd: dir, env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);
    const noPassword = await runSignet(['generate-key-pair', '--output-key-prefix', 'other'], { cwd: dir, env: {} });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr.trim().split('\n')).toHaveLength(1);
    expect(noPassword.stderr).toContain('COSIGN_PASSWORD');
  });
});

describe('cosign-made key', () => {
  it('opens the real cosign key with its password and rejects a wrong one without leaking content', async () => {
    const text = readFileSync(fixtureKey, 'utf8');
    const key = await readCosignPrivateKey(text, 'hello', 'sigstore-encrypted.key');
    expect(key.asymmetricKeyType).toBe('ec');
    let caught: unknown;
    try {
      await readCosignPrivateKey(text, 'wrong', 'sigstore-encrypted.key');
    } catch (error) {
      caught = error;
    }
    expect(isSignetError(caught) && caught.code).toBe('KEYRING_INVALID');
    expect(String((caught as Error).message)).toMatch(/wrong password/);
    expect(String((caught as Error).message)).not.toMatch(/eyJ|ciphertext|BEGIN/);
  });

  it('signs with the cosign key; openssl verifies with the public half', async () => {
    const key = await readCosignPrivateKey(readFileSync(fixtureKey, 'utf8'), 'hello', 'fixture');
    writeFileSync(join(dir, 'fixture.pub'), createPublicKey(key).export({ format: 'pem', type: 'spki' }));
    const signed = await runSignet(['sign-blob', '--key', fixtureKey, 'artifact.txt'], { cwd: dir, env: { COSIGN_PASSWORD: 'hello' } });
    expect(signed.code, signed.stderr).toBe(0);
    writeFileSync(join(dir, 'fixture.sig.der'), Buffer.from(signed.stdout.trim(), 'base64'));
    const check = tool('openssl', ['dgst', '-sha256', '-verify', 'fixture.pub', '-signature', 'fixture.sig.der', 'artifact.txt'], { cwd: dir });
    expect(check.stdout).toContain('Verified OK');
  });

  it('a wrong COSIGN_PASSWORD is one line on stderr, exit 2, no key text', async () => {
    const result = await runSignet(['sign-blob', '--key', fixtureKey, 'artifact.txt'], { cwd: dir, env: { COSIGN_PASSWORD: 'nope' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('wrong password');
    expect(result.stdout).toBe('');
  });
});

describe('sign-blob / verify-blob', () => {
  it('makes a signature openssl verifies, as for cosign sign-blob', async () => {
    const signed = await runSignet(['sign-blob', '--key', 'cosign.key', '--output-signature', 'artifact.sig', 'artifact.txt'], { cwd: dir, env: env() });
    expect(signed.code, signed.stderr).toBe(0);
    expect(readFileSync(join(dir, 'artifact.sig'), 'utf8')).toBe(signed.stdout.trim());
    writeFileSync(join(dir, 'artifact.sig.der'), Buffer.from(signed.stdout.trim(), 'base64'));
    const ok = tool('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', 'artifact.sig.der', 'artifact.txt'], { cwd: dir });
    expect(ok.stdout).toContain('Verified OK');
    writeFileSync(join(dir, 'tampered.txt'), 'release artifact!\n');
    const bad = tool('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', 'artifact.sig.der', 'tampered.txt'], { cwd: dir });
    expect(bad.status).not.toBe(0);
    expect((await runSignet(['verify-blob', '--key', 'cosign.pub', '--signature', 'artifact.sig', 'artifact.txt'], { cwd: dir })).code).toBe(0);
    const rejected = await runSignet(['verify-blob', '--key', 'cosign.pub', '--signature', 'artifact.sig', 'tampered.txt'], { cwd: dir });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/invalid/);
  });

  it('streams a multi-MiB file: openssl agrees, and so does the bundle checker', async () => {
    const signed = await runSignet(['sign-blob', '--key', 'cosign.key', '--bundle', 'large.sigstore.json', 'large.bin'], { cwd: dir, env: env() });
    expect(signed.code, signed.stderr).toBe(0);
    writeFileSync(join(dir, 'large.sig.der'), Buffer.from(signed.stdout.trim(), 'base64'));
    expect(tool('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', 'large.sig.der', 'large.bin'], { cwd: dir }).stdout).toContain(
      'Verified OK',
    );
    const bundle = JSON.parse(readFileSync(join(dir, 'large.sigstore.json'), 'utf8'));
    const sha = mustRun('sha256sum', [join(dir, 'large.bin')]).split(' ')[0];
    expect(Buffer.from(bundle.messageSignature.messageDigest.digest, 'base64').toString('hex')).toBe(sha);
    expect(bundle.messageSignature.signature).toBe(signed.stdout.trim());
  });

  it('writes a sigstore bundle v0.3 that @sigstore/verify accepts offline, and rejects when tampered', async () => {
    const signed = await runSignet(['sign-blob', '--key', 'cosign.key', '--bundle', 'artifact.sigstore.json', 'artifact.txt'], { cwd: dir, env: env() });
    expect(signed.code, signed.stderr).toBe(0);
    const bundle = JSON.parse(readFileSync(join(dir, 'artifact.sigstore.json'), 'utf8'));
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.tlogEntries).toEqual([]);
    const pub = readFileSync(join(dir, 'cosign.pub'), 'utf8');
    const artifact = readFileSync(join(dir, 'artifact.txt'));
    expect(() => sigstoreVerify(bundle, pub, artifact)).not.toThrow();
    expect(() => sigstoreVerify(bundle, pub, Buffer.from('release artifact!\n'))).toThrow();
    expect(() => sigstoreVerify(bundle, readFileSync(join(dir, 'fixture.pub'), 'utf8'), artifact)).toThrow();
    expect((await runSignet(['verify-blob', '--key', 'cosign.pub', '--bundle', 'artifact.sigstore.json', 'artifact.txt'], { cwd: dir })).code).toBe(0);
    expect((await runSignet(['verify-blob', '--key', 'cosign.pub', '--bundle', 'artifact.sigstore.json', 'tampered.txt'], { cwd: dir })).code).toBe(1);
    expect((await runSignet(['verify-blob', '--key', 'fixture.pub', '--bundle', 'artifact.sigstore.json', 'artifact.txt'], { cwd: dir })).code).toBe(1);
  });

  it('verifies signatures openssl made (raw DER and base64)', async () => {
    mustRun('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ossl.pem'], { cwd: dir });
    mustRun('openssl', ['pkey', '-in', 'ossl.pem', '-pubout', '-out', 'ossl.pub'], { cwd: dir });
    mustRun('openssl', ['dgst', '-sha256', '-sign', 'ossl.pem', '-out', 'ossl.sig', 'large.bin'], { cwd: dir });
    writeFileSync(join(dir, 'ossl.sig.b64'), readFileSync(join(dir, 'ossl.sig')).toString('base64'));
    for (const sig of ['ossl.sig', 'ossl.sig.b64']) {
      expect((await runSignet(['verify-blob', '--key', 'ossl.pub', '--signature', sig, 'large.bin'], { cwd: dir })).code).toBe(0);
      expect((await runSignet(['verify-blob', '--key', 'ossl.pub', '--signature', sig, 'artifact.txt'], { cwd: dir })).code).toBe(1);
      expect((await runSignet(['verify-blob', '--key', 'cosign.pub', '--signature', sig, 'large.bin'], { cwd: dir })).code).toBe(1);
    }
    // An unencrypted PEM key signs too (keys made by other tools).
    const pem = createPrivateKey(readFileSync(join(dir, 'ossl.pem'))).export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(join(dir, 'ossl.p8'), pem);
    const signed = await runSignet(['sign-blob', '--key', 'ossl.p8', 'artifact.txt'], { cwd: dir, env: {} });
    expect(signed.code, signed.stderr).toBe(0);
  });

  it('takes the key from env:// and never prints it', async () => {
    const keyText = readFileSync(join(dir, 'cosign.key'), 'utf8');
    const good = await runSignet(['sign-blob', '--key', 'env://RELEASE_KEY', 'artifact.txt'], { cwd: dir, env: { ...env(), RELEASE_KEY: keyText } });
    expect(good.code, good.stderr).toBe(0);
    const bad = await runSignet(['sign-blob', '--key', 'env://RELEASE_KEY', 'artifact.txt'], { cwd: dir, env: { COSIGN_PASSWORD: 'x', RELEASE_KEY: keyText } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('env://RELEASE_KEY');
    const body = keyText.split('\n')[1] ?? 'unreachable';
    expect(bad.stderr).not.toContain(body.slice(0, 20));
    const unset = await runSignet(['sign-blob', '--key', 'env://NOPE', 'artifact.txt'], { cwd: dir, env: env() });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('NOPE is not set');
  });

  it('usage errors exit 2 with one line; the built binary behaves the same', async () => {
    const missing = await runSignet(['verify-blob', '--key', 'cosign.pub', 'artifact.txt'], { cwd: dir });
    expect(missing.code).toBe(2);
    const noFile = await runSignet(['sign-blob', '--key', 'cosign.key', 'absent.txt'], { cwd: dir, env: env() });
    expect(noFile.code).toBe(2);
    expect(noFile.stderr.trim().split('\n')).toHaveLength(1);
    chmodSync(join(dir, 'artifact.txt'), 0o644);
    const binary = runSignetBinary(['verify-blob', '--key', 'cosign.pub', '--signature', 'artifact.sig', 'artifact.txt'], { cwd: dir });
    expect(binary.status, binary.stderr).toBe(0);
    expect(binary.stderr).toBe('Verified OK\n');
  });
});
