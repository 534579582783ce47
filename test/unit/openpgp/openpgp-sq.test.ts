import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenPgpRegistry, verifyOpenPgpSignature, verifyOpenPgpSignatureWithOpenPgpJs, type OpenPgpRegistry } from '../../../src/core/openpgp/index.ts';
import { expectedLetter, GpgHome, run } from '../../helpers/openpgp-gpg.ts';
import { commitPayload, tamper } from '../../helpers/openpgp-scenarios.ts';

// Signatures made by Sequoia's sq 0.27 (another implementation: critical creation time,
// hashed issuer, a salt notation), judged by gpg 2.2 and checked by sq itself.

let dir: string;
let verifier: GpgHome;
let registry: OpenPgpRegistry;
const signatures: { name: string; signature: string; payload: Uint8Array; cert: string }[] = [];

async function sq(args: string[], input?: Uint8Array): Promise<Buffer> {
  const result = await run('sq', args, input ? { input } : {});
  if (result.code !== 0) throw new Error(`sq ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signet-sq-'));
  verifier = await GpgHome.create();
  const certs: string[] = [];
  const fingerprints: string[] = [];
  for (const [name, suite] of [
    ['cv25519', 'cv25519'],
    ['rsa3k', 'rsa3k'],
  ] as const) {
    const keyFile = join(dir, `${name}.key`);
    await sq(['key', 'generate', '--cipher-suite', suite, '--userid', `Sq ${name} <sq-${name}@example.com>`, '--export', keyFile]);
    const cert = (await sq(['key', 'extract-cert', keyFile])).toString();
    const certFile = join(dir, `${name}.cert`);
    await writeFile(certFile, cert);
    certs.push(cert);
    const fingerprint = /^Comment: ([0-9A-F ]{50})$/m.exec(cert)?.[1]?.replace(/ /g, '');
    if (!fingerprint) throw new Error('no fingerprint comment in sq output');
    fingerprints.push(fingerprint);
    const plain = (await sq(['sign', '--detached', '--signer-key', keyFile], commitPayload)).toString();
    const withNotation = (await sq(['sign', '--detached', '--signer-key', keyFile, '--notation', 'team@example.com', 'release'], commitPayload)).toString();
    const critical = (await sq(['sign', '--detached', '--signer-key', keyFile, '--notation', '!policy@example.com', 'strict'], commitPayload)).toString();
    signatures.push(
      { name: `${name}: good`, signature: plain, payload: commitPayload, cert: certFile },
      { name: `${name}: tampered payload`, signature: plain, payload: tamper(commitPayload), cert: certFile },
      { name: `${name}: with a notation`, signature: withNotation, payload: commitPayload, cert: certFile },
      { name: `${name}: with a critical notation`, signature: critical, payload: commitPayload, cert: certFile },
    );
  }
  await verifier.importKeys(certs);
  await verifier.trustUltimately(fingerprints);
  registry = await loadOpenPgpRegistry(certs.map((text, index) => ({ name: `sq-${index}.asc`, text })));
});

afterAll(async () => {
  await verifier.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('signatures made by sq', () => {
  it('get the letter gpg gives, on both verification paths', async () => {
    const seen = new Set<string>();
    for (const entry of signatures) {
      const now = new Date();
      const gpg = await verifier.verify(entry.signature, entry.payload);
      const ours = await verifyOpenPgpSignature(registry, entry.payload, entry.signature, { now });
      const reference = await verifyOpenPgpSignatureWithOpenPgpJs(registry, entry.payload, entry.signature, { now });
      expect(ours.status, entry.name).toBe(expectedLetter(gpg.letter));
      expect(reference.status, entry.name).toBe(ours.status);
      if (gpg.validKey) expect(ours.key, entry.name).toBe(gpg.validKey);
      seen.add(ours.status);
    }
    expect([...seen].sort()).toEqual(['B', 'G']);
  });

  it('agree with sq verify itself on what is good', async () => {
    for (const entry of signatures) {
      const signatureFile = join(dir, 'check.sig');
      const payloadFile = join(dir, 'check.data');
      await writeFile(signatureFile, entry.signature);
      await writeFile(payloadFile, entry.payload);
      const sqSays = await run('sq', ['verify', '--detached', signatureFile, '--signer-cert', entry.cert, payloadFile]);
      const ours = await verifyOpenPgpSignature(registry, entry.payload, entry.signature, { now: new Date() });
      expect(ours.status === 'G', `${entry.name}: sq exit ${sqSays.code} ${sqSays.stderr}`).toBe(sqSays.code === 0);
    }
  });
});
