import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { parseSigstoreBundle } from '../../core/sign/sigstore-bundle.ts';
import { decodeSignatureFile, verifyBlobBundle, verifyBlobSignature } from '../../sign/blob.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadPublicKey } from '../../sign/cosign-signer.ts';
import { verifyKeylessBundle } from '../../core/sign/keyless.ts';
import { parseJson } from '../../core/sign/encoding.ts';
import { digestFile } from '../../sign/file-digest.ts';
import { describeKeylessFailure, identityPolicyFrom, KEYLESS_VERIFY_OPTIONS, KEYLESS_VERIFY_USAGE, wantsKeylessVerify } from '../keyless-options.ts';
import { loadKeylessTrust } from '../../sign/keyless/trusted-root.ts';
import type { CliIO, CommandRunner } from '../io.ts';
import { EXIT_OK, EXIT_POLICY_FAILED } from '../io.ts';

const USAGE = `usage: signet verify-blob --key cosign.pub (--signature SIG | --bundle BUNDLE) [-o text|json] FILE|-
       signet verify-blob --bundle BUNDLE ${KEYLESS_VERIFY_USAGE} FILE   (keyless)
  --signature SIG   a file holding the base64 signature, or the base64 text itself
  -o, --output      text (default: "Verified OK" on stderr) or json (one object on stdout)
  FILE              the signed file; - reads standard input`;

async function readInput(io: { cwd: string }, path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, path));
  } catch {
    throw new SignetError('USAGE', `cannot read ${what} ${path}`);
  }
}

/**
 * cosign's --signature takes a path or the base64 signature itself: a readable file wins; else
 * text that is base64 is the signature; else one line saying it is neither.
 */
async function signatureInput(io: { cwd: string }, value: string): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, value));
  } catch {
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(value.trim()) && value.trim().length >= 16) return Buffer.from(value.trim());
    throw new SignetError('USAGE', `--signature ${value.length > 40 ? `${value.slice(0, 40)}…` : value}: neither a readable file nor a base64 signature`);
  }
}

/** Exit 0 "Verified OK"; 1 with the reason when the signature does not verify; 2 on usage errors. */
export const runVerifyBlob: CommandRunner = (argv, io) =>
  runCommand('verify-blob', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        signature: { type: 'string' },
        bundle: { type: 'string' },
        ...KEYLESS_VERIFY_OPTIONS,
        output: { type: 'string', short: 'o', default: 'text' },
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new SignetError('USAGE', `exactly one FILE is required\n${USAGE}`);
    if ((values.signature === undefined) === (values.bundle === undefined)) throw new SignetError('USAGE', `give one of --signature or --bundle\n${USAGE}`);
    if (values.key === undefined && typeof values.bundle === 'string') return verifyBlobKeylessCommand(values, values.bundle, positionals[0] ?? '', io);
    if (wantsKeylessVerify(values)) throw new SignetError('USAGE', 'the --certificate-* flags are for keyless bundles: leave out --key');
    const publicKey = await loadPublicKey(requireString(values.key, '--key'), io);
    const output = String(values.output);
    if (output !== 'text' && output !== 'json') throw new SignetError('USAGE', `-o/--output must be text or json, not '${output}'`);
    const file = positionals[0] === '-' ? '-' : resolve(io.cwd, positionals[0] ?? '');
    const options = { progressTo: io.stderr, label: positionals[0] ?? '', stdin: io.stdin };
    const result =
      typeof values.bundle === 'string'
        ? await verifyBlobBundle(file, publicKey, parseSigstoreBundle(await readInput(io, values.bundle, 'bundle'), values.bundle), options)
        : await verifyBlobSignature(file, publicKey, decodeSignatureFile(await signatureInput(io, String(values.signature))), options);
    if (output === 'json') io.stdout.write(`${JSON.stringify({ file: positionals[0], ok: result.ok, reason: result.reason, detail: result.detail })}\n`);
    if (!result.ok) {
      io.stderr.write(`signet verify-blob: ${positionals[0]}: ${result.reason}: ${result.detail}\n`);
      return EXIT_POLICY_FAILED;
    }
    if (output === 'text') io.stderr.write('Verified OK\n');
    return EXIT_OK;
  });

/** Keyless: chain to the trusted root, log entry, time, signature and the identity asked for. */
async function verifyBlobKeylessCommand(values: Record<string, unknown>, bundlePath: string, name: string, io: CliIO): Promise<number> {
  const policy = identityPolicyFrom(values);
  const trust = await loadKeylessTrust(typeof values['trusted-root'] === 'string' ? values['trusted-root'] : undefined, io.cwd);
  const bundle = parseJson(await readInput(io, bundlePath, 'bundle'), bundlePath);
  const { digest } = await digestFile(resolve(io.cwd, name), 'sha256', { progressTo: io.stderr, label: name });
  const result = verifyKeylessBundle(bundle, { digest }, trust, policy);
  if (!result.ok) {
    io.stderr.write(`signet verify-blob: ${name}: ${describeKeylessFailure(result)}\n`);
    return EXIT_POLICY_FAILED;
  }
  io.stderr.write(`Verified OK (${result.detail})\n`);
  return EXIT_OK;
}
