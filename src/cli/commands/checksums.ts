import { SignetError } from '../../core/errors.ts';
import { writeSignedChecksums } from '../../sign/checksums.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadOpenPgpSigner, OPENPGP_PASSPHRASE_ENV } from '../../sign/openpgp-signer.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = `usage: signet checksums --key KEY.asc [--output checksums.txt] [--passphrase-env NAME] FILE…   (passphrase from ${OPENPGP_PASSPHRASE_ENV})`;

/** checksums.txt (sha256sum format) + checksums.txt.asc (armored detached OpenPGP signature). */
export const runChecksums: CommandRunner = (argv, io) =>
  runCommand('checksums', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        output: { type: 'string', default: 'checksums.txt' },
        'passphrase-env': { type: 'string', default: OPENPGP_PASSPHRASE_ENV },
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length === 0) throw new SignetError('USAGE', `at least one FILE is required\n${USAGE}`);
    const signer = await loadOpenPgpSigner(requireString(values.key, '--key'), io, String(values['passphrase-env']));
    const output = String(values.output);
    const result = await writeSignedChecksums(positionals, signer, { cwd: io.cwd, output, progressTo: io.stderr });
    io.stdout.write(result.text);
    io.stderr.write(`Wrote ${output} and ${output}.asc (signed by ${signer.fingerprint})\n`);
    return EXIT_OK;
  });
