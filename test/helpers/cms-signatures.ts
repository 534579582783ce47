import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseTrustedRoot } from '../../src/core/sigstore/trusted-root.ts';
import type { KeyRegistries } from '../../src/core/verify-object.ts';
import { buildRegistries } from '../../src/keys/load-registries.ts';
import { localSigstore } from './sigstore-local.ts';
import { TestCa } from './x509-gpgsm.ts';

/** A DER CMS signature as git stores it in a commit header (`gpg.format=x509`). */
export function armorSignedMessage(bytes: Uint8Array): string {
  const lines =
    Buffer.from(bytes)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return ['-----BEGIN SIGNED MESSAGE-----', ...lines, '-----END SIGNED MESSAGE-----'].join('\n');
}

export function dearmorSignedMessage(text: string): Buffer {
  return Buffer.from(text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export interface CmsFixture {
  ca: TestCa;
  sigstore: Awaited<ReturnType<typeof localSigstore>>;
  /** `payload` signed by openssl with a leaf of `ca` (X.509), and by the local Sigstore (gitsign). */
  der: Record<'x509' | 'gitsign', Buffer>;
  /** Trusts `ca` and the local Sigstore for alice@example.com at https://accounts.example.com. */
  registries: KeyRegistries;
}

/** The two CMS signatures the x509 property and fixed-case tests mutate, and registries that trust them. */
export async function makeCmsFixture(dir: string, name: string, payload: Buffer): Promise<CmsFixture> {
  const ca = new TestCa(dir, name);
  const leaf = ca.issue('alice', 'a@example.com');
  const x509 = execFileSync(
    'openssl',
    ['cms', '-sign', '-binary', '-md', 'sha256', '-nosmimecap', '-signer', leaf.certificate, '-inkey', leaf.key, '-outform', 'DER'],
    { input: payload, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const sigstore = await localSigstore();
  const gitsign = dearmorSignedMessage(await sigstore.sign(payload));
  const registries: KeyRegistries = {
    ...(await buildRegistries({ keyrings: [], x509Roots: [{ name: 'ca.pem', text: readFileSync(ca.certificate, 'latin1') }] })),
    keyless: {
      source: 'local',
      trustMaterial: parseTrustedRoot(sigstore.trustedRoot, 'local').material,
      identities: [{ subject: 'alice@example.com', issuer: 'https://accounts.example.com' }],
    },
  };
  return { ca, sigstore, der: { x509, gitsign }, registries };
}
