import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { parseSigstoreBundle } from '../../core/sign/sigstore-bundle.ts';
import { predicateTypeFor, verifyFileAttestation } from '../../sign/attest.ts';
import { parseCommandArgs, runCommand, verifiedReport, whyNoneVerified } from '../../sign/cli-support.ts';
import { openImage } from '../../sign/oci/image-cli.ts';
import { verifyImageAttestations } from '../../sign/oci/image-signing.ts';
import { parseJson } from '../../core/sign/encoding.ts';
import { imageTrustFrom, KEYLESS_VERIFY_OPTIONS, KEYLESS_VERIFY_USAGE } from '../keyless-options.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK, EXIT_POLICY_FAILED } from '../io.ts';

const USAGE = `usage: signet verify-attestation (--key cosign.pub | ${KEYLESS_VERIFY_USAGE}) [--type spdx|slsaprovenance|URI] [-o json|text] (--image REF | --bundle BUNDLE FILE…)`;

/** Exit 0 and the verified statements (JSON array) on stdout; 1 when none verifies; 2 on usage errors. */
export const runVerifyAttestation: CommandRunner = (argv, io) =>
  runCommand('verify-attestation', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        type: { type: 'string' },
        image: { type: 'string' },
        bundle: { type: 'string' },
        'allow-http-registry': { type: 'boolean', default: false },
        ...KEYLESS_VERIFY_OPTIONS,
        output: { type: 'string', short: 'o' },
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    const report = verifiedReport(values.output, io);
    const predicateType = typeof values.type === 'string' ? predicateTypeFor(values.type) : undefined;
    const publicKey = await imageTrustFrom(values, io);
    if (typeof values.image === 'string') {
      if (positionals.length > 0) throw new SignetError('USAGE', 'give --image REF or --bundle with FILEs, not both');
      const { client, image } = await openImage(values.image, io.env, { plainHttp: values['allow-http-registry'] === true });
      const checks = await verifyImageAttestations(client, image, publicKey, predicateType);
      const good = checks.filter((check) => check.ok);
      if (good.length === 0) {
        const why = whyNoneVerified(checks, 'no attestations found');
        io.stderr.write(`signet verify-attestation: ${image.descriptor.digest}: ${why}\n`);
        return EXIT_POLICY_FAILED;
      }
      report(
        `Verified ${good.length} attestation(s) on ${image.descriptor.digest}`,
        good.map((check) => check.payload),
      );
      return EXIT_OK;
    }
    if (typeof values.bundle !== 'string' || positionals.length === 0)
      throw new SignetError('USAGE', `give --image REF, or --bundle BUNDLE and the FILEs it is about\n${USAGE}`);
    let text: Buffer;
    try {
      text = await readFile(resolve(io.cwd, values.bundle));
    } catch {
      throw new SignetError('USAGE', `cannot read bundle ${values.bundle}`);
    }
    const bundle = parseSigstoreBundle(text, values.bundle);
    const trust = 'keyless' in publicKey ? { ...publicKey, json: parseJson(text, values.bundle) } : publicKey;
    const result = await verifyFileAttestation(
      bundle,
      trust,
      positionals.map((file) => resolve(io.cwd, file)),
      predicateType,
      { progressTo: io.stderr },
    );
    if (!result.ok) {
      io.stderr.write(`signet verify-attestation: ${values.bundle}: ${result.reason}: ${result.detail}\n`);
      return EXIT_POLICY_FAILED;
    }
    report('Verified OK', [result.statement]);
    return EXIT_OK;
  });
