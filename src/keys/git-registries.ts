/**
 * `signet verify` with no key options trusts what git trusts: the SSH allowed signers and
 * revocation files named by git's config (gpg.ssh.allowedSignersFile, gpg.ssh.revocationFile,
 * read through `git config` so that global, system and included files count as git counts them)
 * and the OpenPGP public keys of the user's gpg (`gpg --export`, GNUPGHOME respected).
 */
import { spawnSync } from 'node:child_process';
import { SignetError } from '../core/errors.ts';
import type { RegistryFiles, RegistrySources } from './load-registries.ts';
import { readRegistrySources } from './load-registries.ts';

export interface GitRegistries {
  sources: RegistrySources;
  /** One line for stderr: which registries were used, or that there are none. */
  description: string;
}

function gitConfigPath(gitDir: string, key: string, env: NodeJS.ProcessEnv): string | undefined {
  const result = spawnSync('git', ['--git-dir', gitDir, 'config', '--path', '--get', key], { env, encoding: 'utf8' });
  if (result.error)
    throw new SignetError('CONFIG_INVALID', `cannot run git to read ${key} (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`);
  // 1: the key is not set. Anything else is a broken config, which git itself would refuse.
  if (result.status === 1) return undefined;
  if (result.status !== 0) throw new SignetError('CONFIG_INVALID', `git config ${key}: ${result.stderr.trim().split('\n')[0] ?? `exit ${result.status}`}`);
  return result.stdout.trim() || undefined;
}

/** The user's OpenPGP public keys as gpg exports them; undefined when gpg is not installed. */
function gpgExport(env: NodeJS.ProcessEnv): { text: string; count: number } | undefined {
  const run = (args: string[]): string => {
    const result = spawnSync('gpg', ['--batch', ...args], { env, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
    if (result.error || result.status !== 0) {
      throw new SignetError(
        'KEYRING_INVALID',
        `gpg ${args.join(' ')} failed: ${(result.stderr || result.error?.message || `exit ${result.status}`).trim().split('\n')[0]}`,
      );
    }
    return result.stdout;
  };
  const probe = spawnSync('gpg', ['--version'], { env, stdio: 'ignore' });
  if (probe.error && (probe.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  const count = (run(['--with-colons', '--list-keys']).match(/^pub:/gm) ?? []).length;
  return { text: count > 0 ? run(['--armor', '--export']) : '', count };
}

export function gitRegistries(gitDir: string, env: NodeJS.ProcessEnv): GitRegistries {
  const allowedSigners = gitConfigPath(gitDir, 'gpg.ssh.allowedSignersFile', env);
  const revokedKeys = gitConfigPath(gitDir, 'gpg.ssh.revocationFile', env);
  const files: RegistryFiles = { keyrings: [], allowedSigners, revokedKeys };
  const sources = readRegistrySources(files);
  const exported = gpgExport(env);
  if (exported && exported.count > 0) sources.keyrings.push({ name: 'gpg --export', text: exported.text });
  const parts: string[] = [];
  if (exported === undefined) parts.push('OpenPGP: none (gpg is not installed)');
  else
    parts.push(
      `OpenPGP: ${exported.count} public key${exported.count === 1 ? '' : 's'} from gpg --export${env.GNUPGHOME ? ` (GNUPGHOME=${env.GNUPGHOME})` : ''}`,
    );
  parts.push(allowedSigners ? `SSH: ${allowedSigners} (gpg.ssh.allowedSignersFile)` : 'SSH: none (gpg.ssh.allowedSignersFile is not set)');
  if (revokedKeys) parts.push(`revoked: ${revokedKeys} (gpg.ssh.revocationFile)`);
  const empty = !allowedSigners && !(exported && exported.count > 0);
  const description = empty
    ? "no key options, and git's configuration names no keys (gpg has no public keys, gpg.ssh.allowedSignersFile is not set): the registry is empty, so no signature can be G; give --keyring FILE.asc or --allowed-signers FILE"
    : `no key options: using the keys git uses — ${parts.join('; ')}`;
  return { sources, description };
}
