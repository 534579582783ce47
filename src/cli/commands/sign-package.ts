import { relative, resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { parseCommandArgs, runCommand } from '../../sign/cli-support.ts';
import { loadCosignSigner } from '../../sign/cosign-signer.ts';
import { loadOpenPgpSigner, OPENPGP_PASSPHRASE_ENV } from '../../sign/openpgp-signer.ts';
import { signPackage } from '../../sign/packages.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = `usage: signet sign-package [--key cosign.key] [--openpgp-key KEY.asc] [--passphrase-env NAME] FILE…
  npm tarballs, wheels, sdists, tarballs, files: FILE.asc (OpenPGP) and FILE.sigstore.json (bundle v0.3)
  Helm charts: FILE.prov (clear-signed metadata + sha256, for helm verify) and FILE.sigstore.json
  passwords: COSIGN_PASSWORD, ${OPENPGP_PASSPHRASE_ENV}`;

export const runSignPackage: CommandRunner = (argv, io) =>
  runCommand('sign-package', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        'openpgp-key': { type: 'string' },
        'passphrase-env': { type: 'string', default: OPENPGP_PASSPHRASE_ENV },
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length === 0) throw new SignetError('USAGE', `at least one FILE is required\n${USAGE.split('\n')[0] ?? ''}`);
    if (values.key === undefined && values['openpgp-key'] === undefined) throw new SignetError('USAGE', 'give --key, --openpgp-key or both');
    const cosign = typeof values.key === 'string' ? await loadCosignSigner(values.key, io) : undefined;
    const openpgp =
      typeof values['openpgp-key'] === 'string' ? await loadOpenPgpSigner(values['openpgp-key'], io, String(values['passphrase-env'])) : undefined;
    for (const file of positionals) {
      const signed = await signPackage(
        resolve(io.cwd, file),
        { ...(cosign ? { cosign } : {}), ...(openpgp ? { openpgp } : {}) },
        { progressTo: io.stderr, label: file },
      );
      io.stdout.write(`${file}\t${signed.kind}\tsha256:${signed.sha256Hex}\t${signed.outputs.map((out) => relative(io.cwd, out)).join(' ')}\n`);
    }
    return EXIT_OK;
  });
