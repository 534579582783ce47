import type { PushCertificateInput } from '../core/policy/index.ts';
import { signatureKind } from '../core/git/signed-object.ts';
import { verifySignature, type KeyRegistries } from '../core/verify-object.ts';
import type { Repository } from '../git/repository.ts';

/**
 * A signed push (`git push --signed`): git stores the certificate as a blob and names it in
 * GIT_PUSH_CERT. We verify its signature against our own registries rather than trusting
 * GIT_PUSH_CERT_STATUS (which reflects the server's gpg keyring); the nonce check is git's.
 */
export async function readPushCertificate(
  repo: Repository,
  env: NodeJS.ProcessEnv,
  registries: KeyRegistries,
  now: Date,
): Promise<PushCertificateInput | undefined> {
  const blob = env.GIT_PUSH_CERT;
  if (!blob) return undefined;
  const bytes = repo.objects.read(blob).data;
  const text = bytes.toString('latin1');
  const start = findSignatureStart(text);
  const nonceStatus = env.GIT_PUSH_CERT_NONCE_STATUS;
  if (start < 0) return { status: 'N', ...(nonceStatus ? { nonceStatus } : {}) };
  const armored = text.slice(start);
  const payload = bytes.subarray(0, Buffer.byteLength(text.slice(0, start), 'latin1'));
  const pusherLine = /^pusher (.*) \d+ [+-]\d{4}$/m.exec(text.slice(0, start));
  const pusherEmail = pusherLine ? /<([^>]*)>/.exec(pusherLine[1]!)?.[1] : undefined;
  const verdict = await verifySignature(registries, payload, { kind: signatureKind(armored) ?? 'unknown', armored }, false, {
    now,
    sshTime: now,
    ...(pusherEmail ? { email: pusherEmail } : {}),
  });
  return {
    status: verdict.status,
    ...(nonceStatus ? { nonceStatus } : {}),
    ...(verdict.signer ? { signer: verdict.signer } : {}),
    ...(verdict.key ? { key: verdict.key } : {}),
    verdict,
  };
}

function findSignatureStart(text: string): number {
  let found = -1;
  for (const marker of ['-----BEGIN PGP SIGNATURE-----', '-----BEGIN SSH SIGNATURE-----', '-----BEGIN SIGNED MESSAGE-----']) {
    const at = text.lastIndexOf(`\n${marker}`);
    if (at >= 0 && at + 1 > found) found = at + 1;
  }
  return found;
}
