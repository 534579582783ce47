import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { toBase64 } from '../../core/sign/encoding.ts';
import { signBlobFile } from '../../sign/blob.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadCosignSigner } from '../../sign/cosign-signer.ts';
import { keylessServices, signBlobKeyless } from '../../sign/keyless/keyless-signing.ts';
import { KEYLESS_SIGN_OPTIONS, KEYLESS_SIGN_USAGE, refuseKeylessWithKey } from '../keyless-options.ts';
import type { CliIO, CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = `usage: signet sign-blob --key KEY [--output-signature FILE] [--bundle FILE] FILE|-   (- reads standard input)
       signet sign-blob [--keyless] ${KEYLESS_SIGN_USAGE} --bundle FILE FILE   (no --key: keyless, as cosign)`;

/** `cosign sign-blob --key`: prints base64(DER ECDSA-SHA256 over FILE); optionally a sigstore bundle v0.3. */
export const runSignBlob: CommandRunner = (argv, io) =>
  runCommand('sign-blob', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        'output-signature': { type: 'string' },
        bundle: { type: 'string' },
        ...KEYLESS_SIGN_OPTIONS,
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new SignetError('USAGE', `exactly one FILE is required\n${USAGE}`);
    if (values.key === undefined) return signBlobKeylessCommand(values, positionals[0] ?? '', io);
    refuseKeylessWithKey(values);
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

/** Keyless: Fulcio certificate for the OIDC identity, Rekor entry; the bundle carries both. */
async function signBlobKeylessCommand(values: Record<string, unknown>, name: string, io: CliIO): Promise<number> {
  if (typeof values.bundle !== 'string') throw new SignetError('USAGE', 'keyless signing writes a sigstore bundle: give --bundle FILE');
  let data: Buffer;
  try {
    data = await readFile(resolve(io.cwd, name));
  } catch (error) {
    throw new SignetError('USAGE', `cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const bundle = (await signBlobKeyless(data, keylessServices(values), io.env)) as { messageSignature?: { signature?: string } };
  await writeFile(resolve(io.cwd, values.bundle), `${JSON.stringify(bundle)}\n`);
  const signature = bundle.messageSignature?.signature ?? '';
  if (typeof values['output-signature'] === 'string') await writeFile(resolve(io.cwd, values['output-signature']), signature);
  io.stderr.write(`Wrote bundle to ${values.bundle}\n`);
  io.stdout.write(`${signature}\n`);
  return EXIT_OK;
}
