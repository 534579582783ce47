import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { parseSigstoreBundle } from '../../core/sign/sigstore-bundle.ts';
import { decodeSignatureFile, verifyBlobBundle, verifyBlobSignature } from '../../sign/blob.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadPublicKey } from '../../sign/cosign-signer.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK, EXIT_POLICY_FAILED } from '../io.ts';

const USAGE = 'usage: signet verify-blob --key cosign.pub (--signature SIG | --bundle BUNDLE) FILE';

async function readInput(io: { cwd: string }, path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, path));
  } catch {
    throw new SignetError('USAGE', `cannot read ${what} ${path}`);
  }
}

/** Exit 0 "Verified OK"; 1 with the reason when the signature does not verify; 2 on usage errors. */
export const runVerifyBlob: CommandRunner = (argv, io) => runCommand('verify-blob', io, async () => {
  const { values, positionals } = parseCommandArgs(argv, {
    key: { type: 'string' },
    signature: { type: 'string' },
    bundle: { type: 'string' },
  }, USAGE);
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new SignetError('USAGE', `exactly one FILE is required\n${USAGE}`);
  if ((values.signature === undefined) === (values.bundle === undefined)) throw new SignetError('USAGE', `give one of --signature or --bundle\n${USAGE}`);
  const publicKey = await loadPublicKey(requireString(values.key, '--key'), io);
  const file = resolve(io.cwd, positionals[0] ?? '');
  const options = { progressTo: io.stderr, label: positionals[0] ?? '' };
  const result = typeof values.bundle === 'string'
    ? await verifyBlobBundle(file, publicKey, parseSigstoreBundle(await readInput(io, values.bundle, 'bundle'), values.bundle), options)
    : await verifyBlobSignature(file, publicKey, decodeSignatureFile(await readInput(io, String(values.signature), 'signature')), options);
  if (!result.ok) {
    io.stderr.write(`signet verify-blob: ${positionals[0]}: ${result.reason}: ${result.detail}\n`);
    return EXIT_POLICY_FAILED;
  }
  io.stderr.write('Verified OK\n');
  return EXIT_OK;
});
