import { generateKeyPairSync } from 'node:crypto';
import { access, chmod, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { encryptCosignPrivateKey, publicKeyPem } from '../../core/sign/cosign-key.ts';
import { COSIGN_PASSWORD_ENV } from '../../sign/cosign-signer.ts';
import { parseCommandArgs, runCommand } from '../../sign/cli-support.ts';
import { promptPassword } from '../../sign/password-prompt.ts';
import type { CliIO, CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = 'usage: signet generate-key-pair [--output-key-prefix cosign] [--force]   (password from COSIGN_PASSWORD, else asked on the terminal)';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** As cosign: asked twice on a terminal; without one, the variable is the only way. */
async function askPassword(io: CliIO): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadableStream & { isTTY?: boolean };
  if (!stdin.isTTY)
    throw new SignetError('CONFIG_INVALID', `set ${COSIGN_PASSWORD_ENV} to the password for the new key (it may be empty): there is no terminal to ask on`);
  const first = await promptPassword(stdin, io.stderr, 'Enter password for private key: ');
  const again = await promptPassword(stdin, io.stderr, 'Enter password for private key again: ');
  if (first !== again) throw new SignetError('USAGE', 'the two passwords differ; no key was written');
  return first;
}

/** Writes `<prefix>.key` (cosign's encrypted PEM, mode 0600) and `<prefix>.pub` (SPKI PEM), ECDSA P-256. */
export const runGenerateKeyPair: CommandRunner = (argv, io) =>
  runCommand('generate-key-pair', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        'output-key-prefix': { type: 'string', default: 'cosign' },
        force: { type: 'boolean', default: false },
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new SignetError('USAGE', `unexpected argument '${positionals[0]}'\n${USAGE}`);
    const password = io.env[COSIGN_PASSWORD_ENV] ?? (await askPassword(io));
    const prefix = String(values['output-key-prefix']);
    const keyPath = resolve(io.cwd, `${prefix}.key`);
    const pubPath = resolve(io.cwd, `${prefix}.pub`);
    if (!values.force) {
      for (const path of [keyPath, pubPath]) {
        if (await exists(path)) throw new SignetError('USAGE', `${path} exists; pass --force to overwrite`);
      }
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(keyPath, await encryptCosignPrivateKey(privateKey, password), { mode: 0o600 });
    await chmod(keyPath, 0o600); // `mode` applies only when the file is created; --force may overwrite
    await writeFile(pubPath, publicKeyPem(privateKey), { mode: 0o644 });
    io.stderr.write(`Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`);
    return EXIT_OK;
  });
