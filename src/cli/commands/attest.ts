import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { attestImage, attestSubjects, buildPredicate, fileSubjects, predicateTypeFor } from '../../sign/attest.ts';
import { parseCommandArgs, requireString, runCommand } from '../../sign/cli-support.ts';
import { loadCosignSigner } from '../../sign/cosign-signer.ts';
import { openImage } from '../../sign/oci/image-cli.ts';
import { keylessServices } from '../../sign/keyless/keyless-signing.ts';
import { KEYLESS_SIGN_OPTIONS, KEYLESS_SIGN_USAGE, refuseKeylessWithKey } from '../keyless-options.ts';
import type { CommandRunner } from '../io.ts';
import { EXIT_OK } from '../io.ts';

const USAGE = `usage: signet attest (--key KEY | --keyless ${KEYLESS_SIGN_USAGE}) --type spdx|slsaprovenance|URI [--predicate FILE] (--image REF [--format legacy|bundle] | [--bundle OUT] FILE…)
  spdx without --predicate: SPDX 2.3 from --lockfile (default package-lock.json) [--include-dev]
  slsaprovenance without --predicate: --builder-id URI --build-type URI [--source-uri URI --source-digest ALG=HEX] [--invocation-id ID] [--started-on TIME]`;

/** Signs an in-toto Statement v1 (DSSE) about files (bundle to --bundle or stdout) or an image (stored in the registry). */
export const runAttest: CommandRunner = (argv, io) =>
  runCommand('attest', io, async () => {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        type: { type: 'string' },
        predicate: { type: 'string' },
        lockfile: { type: 'string' },
        'include-dev': { type: 'boolean', default: false },
        'builder-id': { type: 'string' },
        'build-type': { type: 'string' },
        'source-uri': { type: 'string' },
        'source-digest': { type: 'string' },
        'invocation-id': { type: 'string' },
        'started-on': { type: 'string' },
        image: { type: 'string' },
        format: { type: 'string', default: 'bundle' },
        bundle: { type: 'string' },
        'allow-http-registry': { type: 'boolean', default: false },
        ...KEYLESS_SIGN_OPTIONS,
      },
      USAGE,
    );
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    const predicateType = predicateTypeFor(requireString(values.type, '--type'));
    if (values.image === undefined && positionals.length === 0)
      throw new SignetError('USAGE', `give --image REF or at least one FILE\n${USAGE.split('\n')[0] ?? ''}`);
    if (values.image !== undefined && positionals.length > 0) throw new SignetError('USAGE', 'give --image REF or FILEs, not both');
    const format = String(values.format);
    if (format !== 'legacy' && format !== 'bundle') throw new SignetError('USAGE', `--format must be legacy or bundle, not '${format}'`);
    let sourceDigest: Record<string, string> | undefined;
    if (typeof values['source-digest'] === 'string') {
      const [algorithm, hex] = values['source-digest'].split('=');
      if (!algorithm || !hex) throw new SignetError('USAGE', '--source-digest must be ALG=HEX (e.g. gitCommit=<sha>)');
      sourceDigest = { [algorithm]: hex };
    }
    refuseKeylessWithKey(values);
    const signer =
      values.key === undefined ? { services: keylessServices(values), env: io.env } : await loadCosignSigner(requireString(values.key, '--key'), io);
    const now = new Date();
    const predicate = await buildPredicate(predicateType, {
      cwd: io.cwd,
      creator: 'signet',
      now,
      includeDev: values['include-dev'] === true,
      ...(typeof values.predicate === 'string' ? { predicatePath: values.predicate } : {}),
      ...(typeof values.lockfile === 'string' ? { lockfile: values.lockfile } : {}),
      ...(typeof values['builder-id'] === 'string' ? { builderId: values['builder-id'] } : {}),
      ...(typeof values['build-type'] === 'string' ? { buildType: values['build-type'] } : {}),
      ...(typeof values['source-uri'] === 'string' ? { sourceUri: values['source-uri'] } : {}),
      ...(sourceDigest ? { sourceDigest } : {}),
      ...(typeof values['invocation-id'] === 'string' ? { invocationId: values['invocation-id'] } : {}),
      ...(typeof values['started-on'] === 'string' ? { startedOn: values['started-on'] } : {}),
    });
    if (typeof values.image === 'string') {
      const { client, image, ref } = await openImage(values.image, io.env, { plainHttp: values['allow-http-registry'] === true });
      const where = await attestImage(client, image, signer, predicateType, predicate, format, now.toISOString().replace(/\.\d+Z$/, 'Z'));
      // A legacy attestation is a tag (`repo:sha256-….att`); a bundle referrer is a manifest digest (`repo@sha256:…`).
      io.stdout.write(`${ref.registry}/${ref.repository}${/^[a-z0-9]+:/.test(where) ? '@' : ':'}${where}\n`);
      return EXIT_OK;
    }
    const subjects = await fileSubjects(
      positionals.map((file) => resolve(io.cwd, file)),
      { progressTo: io.stderr },
    );
    const bundle = `${JSON.stringify(await attestSubjects(subjects, signer, predicateType, predicate))}\n`;
    if (typeof values.bundle === 'string') await writeFile(resolve(io.cwd, values.bundle), bundle);
    else io.stdout.write(bundle);
    return EXIT_OK;
  });
