import { SignetError } from '../../core/errors.ts';
import { parseAnnotations, parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadCosignSigner } from '../../sign/cosign-signer.ts';
import { openImage } from '../../sign/oci/image-cli.ts';
import { signImageBundle, signImageLegacy } from '../../sign/oci/image-signing.ts';
import { keylessServices } from '../../sign/keyless/keyless-signing.ts';
import { KEYLESS_SIGN_OPTIONS, KEYLESS_SIGN_USAGE, refuseKeylessWithKey } from '../keyless-options.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = `usage: signet sign-image --key KEY [-a key=value]… [--format legacy|bundle] [--allow-http-registry] REF@sha256:…
       signet sign-image [--keyless] ${KEYLESS_SIGN_USAGE} [-a key=value]… REF@sha256:…   (no --key: keyless, bundle format)`;

/**
 * legacy: cosign's `sha256-<hex>.sig` tag (simple-signing payload, signature annotation).
 * bundle: cosign v3's sigstore bundle v0.3 as an OCI 1.1 referrer (fallback tag `sha256-<hex>`).
 */
export const runSignImage: CommandRunner = (argv, io) =>
  runCommand('sign-image', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        annotations: { type: 'string', short: 'a', multiple: true },
        format: { type: 'string' },
        'allow-http-registry': { type: 'boolean', default: false },
        ...KEYLESS_SIGN_OPTIONS,
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new SignetError('USAGE', `exactly one image REF is required\n${USAGE}`);
    const keyless = values.key === undefined;
    if (keyless && values.format === 'legacy')
      throw new SignetError('USAGE', 'keyless image signatures are stored in the bundle format (cosign v3): leave out --format legacy');
    refuseKeylessWithKey(values);
    const format = String(values.format ?? (keyless ? 'bundle' : 'legacy'));
    if (format !== 'legacy' && format !== 'bundle') throw new SignetError('USAGE', `--format must be legacy or bundle, not '${format}'`);
    const annotations = parseAnnotations(values.annotations as string[] | undefined);
    const signer = keyless ? { services: keylessServices(values), env: io.env } : await loadCosignSigner(requireString(values.key, '--key'), io);
    const { client, image, ref } = await openImage(positionals[0] ?? '', io.env, { plainHttp: values['allow-http-registry'] === true });
    if (!ref.digest) {
      io.stderr.write(
        `signet sign-image: warning: signing ${positionals[0]} by tag; it resolved to ${image.descriptor.digest} — sign REF@digest to be sure what you sign\n`,
      );
    }
    if (format === 'legacy') {
      const { tag } = await signImageLegacy(client, image, signer as Awaited<ReturnType<typeof loadCosignSigner>>, annotations);
      io.stdout.write(`${ref.registry}/${ref.repository}:${tag}\n`);
    } else {
      const pushed = await signImageBundle(client, image, signer, annotations, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
      io.stdout.write(`${ref.registry}/${ref.repository}@${pushed.digest}\t${pushed.storage}\n`);
    }
    return EXIT_OK;
  });
