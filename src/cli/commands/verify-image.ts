import { SignetError } from '../../core/errors.ts';
import { parseAnnotations, parseCommandArgs, runCommand, verifiedReport, whyNoneVerified } from '../../sign/cli-support.ts';
import { openImage } from '../../sign/oci/image-cli.ts';
import { verifyImageSignatures } from '../../sign/oci/image-signing.ts';
import { imageTrustFrom, KEYLESS_VERIFY_OPTIONS, KEYLESS_VERIFY_USAGE } from '../keyless-options.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK, EXIT_POLICY_FAILED } from '../io.ts';

const USAGE = `usage: signet verify-image --key cosign.pub [-a key=value]… [--allow-http-registry] [-o json|text] REF
       signet verify-image ${KEYLESS_VERIFY_USAGE} [-a key=value]… [--allow-http-registry] [-o json|text] REF   (keyless)`;

/**
 * Exit 0 when at least one signature (legacy or bundle) verifies with the key and carries every
 * `-a` annotation; prints the verified payloads as a JSON array (as cosign verify does). Else 1.
 */
export const runVerifyImage: CommandRunner = (argv, io) =>
  runCommand('verify-image', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        annotations: { type: 'string', short: 'a', multiple: true },
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
    if (positionals.length !== 1) throw new SignetError('USAGE', `exactly one image REF is required\n${USAGE}`);
    const annotations = parseAnnotations(values.annotations as string[] | undefined);
    const publicKey = await imageTrustFrom(values, io);
    const { client, image } = await openImage(positionals[0] ?? '', io.env, { plainHttp: values['allow-http-registry'] === true });
    const checks = await verifyImageSignatures(client, image, publicKey, annotations);
    const good = checks.filter((check) => check.ok);
    if (good.length === 0) {
      const why = whyNoneVerified(checks, 'no signatures found');
      io.stderr.write(`signet verify-image: ${image.descriptor.digest}: ${why}\n`);
      return EXIT_POLICY_FAILED;
    }
    report(
      `Verified ${good.length} signature(s) on ${image.descriptor.digest} (${[...new Set(good.map((check) => check.format))].join(', ')})`,
      good.map((check) => check.payload),
    );
    return EXIT_OK;
  });
