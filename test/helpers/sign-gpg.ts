/** A throwaway GnuPG home with one passphrase-protected v4 signing key, exported armored for signet. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun, tool } from './sign-cli.ts';

export interface GpgKey {
  home: string;
  env: NodeJS.ProcessEnv;
  fingerprint: string;
  secretKeyPath: string;
  publicKeyPath: string;
  passphrase: string;
}

export function makeGpgKey(dir: string, algorithm: 'ed25519' | 'rsa2048', email: string): GpgKey {
  const home = join(dir, `gnupg-${algorithm}`);
  mustRun('mkdir', ['-m', '700', '-p', home]);
  const env = { ...process.env, GNUPGHOME: home };
  const passphrase = `pass-${algorithm}`;
  const base = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase];
  mustRun('gpg', [...base, '--quick-gen-key', `Release Team <${email}>`, algorithm, 'sign', '1y'], { env });
  const listing = mustRun('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env });
  const fingerprint =
    listing
      .split('\n')
      .find((line) => line.startsWith('fpr:'))
      ?.split(':')[9] ?? '';
  const secretKeyPath = join(dir, `${algorithm}.sec.asc`);
  const publicKeyPath = join(dir, `${algorithm}.pub.asc`);
  writeFileSync(secretKeyPath, mustRun('gpg', [...base, '--armor', '--export-secret-keys', fingerprint], { env }));
  writeFileSync(publicKeyPath, mustRun('gpg', ['--batch', '--armor', '--export', fingerprint], { env }));
  return { home, env, fingerprint, secretKeyPath, publicKeyPath, passphrase };
}

/** `gpg --verify` in a home that holds only the public key; returns status and the VALIDSIG fingerprint. */
export function gpgVerify(key: GpgKey, args: string[], cwd: string): { status: number; validsig?: string; stderr: string } {
  const result = tool('gpg', ['--batch', '--status-fd', '1', '--verify', ...args], { cwd, env: key.env });
  const validsig = result.stdout
    .split('\n')
    .find((line) => line.startsWith('[GNUPG:] VALIDSIG'))
    ?.split(' ')[2];
  return { status: result.status, stderr: result.stderr, ...(validsig ? { validsig } : {}) };
}

export function sqVerify(key: GpgKey, args: string[], cwd: string): { status: number; stderr: string; stdout: string } {
  return tool('sq', ['verify', '--signer-cert', key.publicKeyPath, ...args], { cwd });
}
