/**
 * Theirs verify with ours: cosign-made image signatures from containers/image's test data, fetched
 * from Debian at test time (golang-github-containers-image-dev), never copied into the project.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublicKey } from '../../../src/core/sign/cosign-key.ts';
import { verifySimpleSigning, type ImageSignatureCheck } from '../../../src/core/sign/simple-signing.ts';
import { makeTempDir, tool } from '../../helpers/sign-cli.ts';

let tmp: ReturnType<typeof makeTempDir>;
let fixtures: string;
let cosignPub: KeyObject;

beforeAll(() => {
  tmp = makeTempDir('signet-cosign-fixtures-');
  const download = tool('apt-get', ['download', 'golang-github-containers-image-dev'], { cwd: tmp.dir });
  const deb = readdirSync(tmp.dir).find((name) => name.endsWith('.deb'));
  if (download.status !== 0 || !deb) {
    throw new Error(
      `cannot fetch golang-github-containers-image-dev with apt-get download (is apt reachable? run 'apt-get update'): ${download.stderr.trim().split('\n').pop() ?? ''}`,
    );
  }
  const unpack = tool('dpkg', ['-x', deb, 'x'], { cwd: tmp.dir });
  if (unpack.status !== 0) throw new Error(`dpkg -x failed: ${unpack.stderr}`);
  fixtures = join(tmp.dir, 'x/usr/share/gocode/src/github.com/containers/image/signature/fixtures');
  if (!existsSync(join(fixtures, 'cosign.pub'))) throw new Error('the containers/image package no longer ships signature/fixtures/cosign.pub');
  cosignPub = readPublicKey(readFileSync(join(fixtures, 'cosign.pub')), 'cosign.pub');
}, 120_000);
afterAll(() => tmp.cleanup());

interface DirSignature {
  mimeType: string;
  payload: Buffer;
  signature: string;
}

/** containers/image's "dir:" signature file: `\0sigstore-json\n` + JSON. */
function readDirSignature(path: string): DirSignature {
  const bytes = readFileSync(path);
  const prefix = Buffer.from('\0sigstore-json\n');
  expect(bytes.subarray(0, prefix.length).equals(prefix)).toBe(true);
  const json = JSON.parse(bytes.subarray(prefix.length).toString('utf8'));
  return { mimeType: json.mimeType, payload: Buffer.from(json.payload, 'base64'), signature: json.annotations['dev.cosignproject.cosign/signature'] };
}

function checkDir(name: string): ImageSignatureCheck[] {
  const dir = join(fixtures, name);
  const manifestDigest = `sha256:${createHash('sha256')
    .update(readFileSync(join(dir, 'manifest.json')))
    .digest('hex')}`;
  return readdirSync(dir)
    .filter((file) => file.startsWith('signature-'))
    .sort()
    .map((file) => {
      const sig = readDirSignature(join(dir, file));
      if (sig.mimeType !== 'application/vnd.dev.cosign.simplesigning.v1+json') {
        return { ok: false, reason: 'unknown_signature_type', detail: sig.mimeType };
      }
      return verifySimpleSigning({ payload: sig.payload, signatureBase64: sig.signature, publicKey: cosignPub, manifestDigest });
    });
}

describe('containers/image cosign fixtures', () => {
  it('valid signatures verify', () => {
    for (const name of ['dir-img-cosign-valid', 'dir-img-cosign-valid-2', 'dir-img-cosign-valid-with-tag']) {
      const checks = checkDir(name);
      expect(checks.length, name).toBeGreaterThan(0);
      for (const check of checks) expect(check, name).toMatchObject({ ok: true, reason: 'valid' });
    }
    expect(checkDir('dir-img-cosign-valid-with-tag')[0]?.claims).toMatchObject({
      dockerReference: '192.168.64.2:5000/skopeo-signed:tag',
      optional: { creator: 'containers/image 5.21.2-dev' },
    });
  });

  it('openssl agrees on the valid payload signature', () => {
    const sig = readDirSignature(join(fixtures, 'dir-img-cosign-valid', 'signature-1'));
    writeFileSync(join(tmp.dir, 'payload.json'), sig.payload);
    writeFileSync(join(tmp.dir, 'payload.sig'), Buffer.from(sig.signature, 'base64'));
    const result = tool('openssl', ['dgst', '-sha256', '-verify', join(fixtures, 'cosign.pub'), '-signature', 'payload.sig', 'payload.json'], { cwd: tmp.dir });
    expect(result.stdout).toContain('Verified OK');
  });

  it('a signature whose manifest was modified is rejected: the digest it names no longer matches', () => {
    const [check] = checkDir('dir-img-cosign-modified-manifest');
    expect(check).toMatchObject({ ok: false, reason: 'invalid' });
    expect(check?.detail).toMatch(/signature is for sha256:634a8f35/);
  });

  it('a manifest that cannot match (schema 1) is rejected', () => {
    expect(checkDir('dir-img-cosign-manifest-digest-error')[0]).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('mixed: one invalid, one valid — the valid one is found', () => {
    const checks = checkDir('dir-img-cosign-mixed');
    expect(checks.map((check) => check.ok).sort()).toEqual([false, true]);
  });

  it('a non-signature attachment is not taken for a signature', () => {
    expect(checkDir('dir-img-cosign-other-attachment')[0]).toMatchObject({ ok: false, reason: 'unknown_signature_type' });
  });

  it('a signature by a key that is not cosign.pub is rejected', () => {
    const sig = readDirSignature(join(fixtures, 'unknown-cosign-key.signature'));
    const result = verifySimpleSigning({
      payload: sig.payload,
      signatureBase64: sig.signature,
      publicKey: cosignPub,
      manifestDigest: 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00',
    });
    expect(result).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it("the payload signet makes is byte-identical to cosign's for the same image", async () => {
    const { simpleSigningPayload } = await import('../../../src/core/sign/simple-signing.ts');
    const theirs = readDirSignature(join(fixtures, 'dir-img-cosign-valid', 'signature-1')).payload;
    const ours = simpleSigningPayload(
      '192.168.64.2:5000/cosign-signed-single-sample',
      'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00',
    );
    expect(ours.toString('utf8')).toBe(theirs.toString('utf8'));
  });
});
