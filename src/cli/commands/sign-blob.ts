import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { toBase64 } from '../../core/sign/encoding.ts';
import { signBlobFile } from '../../sign/blob.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadCosignSigner } from '../../sign/cosign-signer.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = 'usage: signet sign-blob --key KEY [--output-signature FILE] [--bundle FILE] FILE|-   (- reads standard input)';

/** `cosign sign-blob --key`: prints base64(DER ECDSA-SHA256 over FILE); optionally a sigstore bundle v0.3. */
export const runSignBlob: CommandRunner = (argv, io) => runCommand('sign-blob', io, async () => {
  const { values, positionals } = parseCommandArgs(argv, {
    key: { type: 'string' },
    'output-signature': { type: 'string' },
    bundle: { type: 'string' },
  }, USAGE);
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new SignetError('USAGE', `exactly one FILE is required\n${USAGE}`);
  const signer = await loadCosignSigner(requireString(values.key, '--key'), io);
  const file = positionals[0] === '-' ? '-' : resolve(io.cwd, positionals[0] ?? '');
  const result = await signBlobFile(file, signer, { progressTo: io.stderr, label: positionals[0] ?? '', stdin: io.stdin });
  const signature = toBase64(result.signature);
  if (typeof values['output-signature'] === 'string') {
    await writeFile(resolve(io.cwd, values['output-signature']), signature);
  }
  if (typeof values.bundle === 'string') {
    await writeFile(resolve(io.cwd, values.bundle), `${JSON.stringify(result.bundle)}\n`);
  }
  io.stdout.write(`${signature}\n`);
  return EXIT_OK;
});
