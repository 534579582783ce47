import { randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { IN_TOTO_PAYLOAD_TYPE } from '../core/sign/dsse.ts';
import { repositoryName } from '../core/sign/image-reference.ts';
import {
  inTotoStatement,
  parseInTotoStatement,
  SLSA_PROVENANCE_V1,
  SPDX_PREDICATE_TYPE,
  type InTotoStatement,
  type ResourceDescriptor,
} from '../core/sign/in-toto.ts';
import { serialize } from '../core/sign/oci-manifest.ts';
import { checkSlsaProvenanceV1, slsaProvenanceV1, type SlsaResource } from '../core/sign/slsa-provenance.ts';
import { spdxFromPackageLock } from '../core/sign/spdx.ts';
import { verifyDsseBundle, type BundleVerification, type SigstoreBundle } from '../core/sign/sigstore-bundle.ts';
import { digestFile, type DigestOptions } from './file-digest.ts';
import { attachAttestationLegacy, pushBundleReferrer, type ResolvedImage } from './oci/image-signing.ts';
import type { RegistryClient } from './oci/registry-client.ts';
import { isKeylessSigning } from './keyless/keyless-signing.ts';
import { signDsseBundle, type AttestationSigner } from './keyless/dsse-bundle-signer.ts';
import { verifyKeylessBundle, type IdentityPolicy } from '../core/sign/keyless.ts';
import type { SigstoreTrust } from '../core/sigstore/trusted-root.ts';

/** cosign's `--type` names; `slsaprovenance` means SLSA v1 here (cosign maps it to v0.2). */
export function predicateTypeFor(type: string): string {
  switch (type) {
    case 'spdx':
    case 'spdxjson':
      return SPDX_PREDICATE_TYPE;
    case 'slsaprovenance':
    case 'slsaprovenance1':
      return SLSA_PROVENANCE_V1;
    default:
      if (/^https?:\/\/\S+$/.test(type)) return type;
      throw new SignetError('USAGE', `--type must be spdx, slsaprovenance or a predicate type URI, not '${type}'`);
  }
}

export interface PredicateOptions {
  cwd: string;
  /** A ready-made predicate (JSON file). */
  predicatePath?: string;
  /** SPDX: the lockfile to describe (default package-lock.json). */
  lockfile?: string;
  includeDev?: boolean;
  creator: string;
  now: Date;
  /** SLSA: builder, build type, source. */
  builderId?: string;
  buildType?: string;
  sourceUri?: string;
  sourceDigest?: Record<string, string>;
  invocationId?: string;
  startedOn?: string;
}

async function readJsonFile(cwd: string, path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch {
    throw new SignetError('USAGE', `cannot read ${what} ${path}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SignetError('CONFIG_INVALID', `${what} ${path} is not valid JSON`);
  }
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The predicate for `predicateType`: read from a file, or generated (SPDX from a lockfile, SLSA from flags). */
export async function buildPredicate(predicateType: string, options: PredicateOptions): Promise<unknown> {
  if (options.predicatePath) {
    const predicate = await readJsonFile(options.cwd, options.predicatePath, 'predicate');
    if (predicateType === SLSA_PROVENANCE_V1) checkSlsaProvenanceV1(predicate);
    return predicate;
  }
  if (predicateType === SPDX_PREDICATE_TYPE) {
    const lock = await readJsonFile(options.cwd, options.lockfile ?? 'package-lock.json', 'lockfile');
    return spdxFromPackageLock(lock, {
      documentNamespace: `https://spdx.org/spdxdocs/signet-${randomUUID()}`,
      created: iso(options.now),
      creator: options.creator,
      includeDev: options.includeDev ?? false,
    });
  }
  if (predicateType === SLSA_PROVENANCE_V1) {
    if (!options.builderId || !options.buildType) throw new SignetError('USAGE', 'SLSA provenance needs --builder-id and --build-type (or --predicate FILE)');
    const source: SlsaResource[] = options.sourceUri ? [{ uri: options.sourceUri, ...(options.sourceDigest ? { digest: options.sourceDigest } : {}) }] : [];
    return slsaProvenanceV1({
      buildType: options.buildType,
      builderId: options.builderId,
      externalParameters: options.sourceUri ? { source: { uri: options.sourceUri, ...(options.sourceDigest ? { digest: options.sourceDigest } : {}) } } : {},
      resolvedDependencies: source,
      ...(options.invocationId ? { invocationId: options.invocationId } : {}),
      ...(options.startedOn ? { startedOn: options.startedOn } : {}),
      finishedOn: iso(options.now),
    });
  }
  throw new SignetError('USAGE', `no generator for ${predicateType}: pass --predicate FILE`);
}

/** Subjects for files: basename and sha256, streamed. */
export async function fileSubjects(paths: readonly string[], options: DigestOptions = {}): Promise<ResourceDescriptor[]> {
  const subjects: ResourceDescriptor[] = [];
  for (const path of paths) subjects.push({ name: basename(path), digest: { sha256: (await digestFile(path, 'sha256', options)).digest.toString('hex') } });
  return subjects;
}

/** An in-toto Statement v1 in DSSE, in a sigstore bundle v0.3. */
export async function attestSubjects(
  subjects: ResourceDescriptor[],
  signer: AttestationSigner,
  predicateType: string,
  predicate: unknown,
): Promise<SigstoreBundle> {
  const statement = inTotoStatement(subjects, predicateType, predicate);
  return signDsseBundle(signer, IN_TOTO_PAYLOAD_TYPE, serialize(statement));
}

export async function attestImage(
  client: RegistryClient,
  image: ResolvedImage,
  signer: AttestationSigner,
  predicateType: string,
  predicate: unknown,
  format: 'legacy' | 'bundle',
  created: string,
): Promise<string> {
  if (format === 'legacy' && isKeylessSigning(signer))
    throw new SignetError('USAGE', 'keyless attestations are stored in the bundle format: leave out --format legacy');
  const subject = [{ name: repositoryName(image.ref), digest: { sha256: image.descriptor.digest.slice(7) } }];
  const bundle = await attestSubjects(subject, signer, predicateType, predicate);
  if (format === 'legacy') {
    const envelope = bundle.dsseEnvelope;
    return attachAttestationLegacy(client, image, serialize(envelope), predicateType);
  }
  const pushed = await pushBundleReferrer(client, image, bundle, predicateType, created);
  return `${pushed.digest} (${pushed.storage})`;
}

export interface AttestationCheck extends BundleVerification {
  statement?: InTotoStatement;
}

/** Verifies a DSSE bundle about files: signature, every file among the subjects, predicate type. */
export async function verifyFileAttestation(
  bundle: SigstoreBundle,
  trust: KeyObject | { keyless: SigstoreTrust; identity: IdentityPolicy; json: unknown },
  paths: readonly string[],
  predicateType?: string,
  options: DigestOptions = {},
): Promise<AttestationCheck> {
  let verified: { ok: boolean; reason: BundleVerification['reason']; detail: string; payload?: Uint8Array; payloadType?: string };
  if ('keyless' in trust) {
    const result = verifyKeylessBundle(trust.json, {}, trust.keyless, trust.identity);
    verified = result.ok
      ? {
          ok: true,
          reason: 'valid',
          detail: result.detail,
          ...(bundle.dsseEnvelope ? { payload: Buffer.from(bundle.dsseEnvelope.payload, 'base64'), payloadType: bundle.dsseEnvelope.payloadType } : {}),
        }
      : { ok: false, reason: result.check === 'identity' ? 'unknown_key' : 'invalid', detail: `keyless ${result.check} check failed: ${result.detail}` };
  } else {
    verified = verifyDsseBundle(bundle, trust);
  }
  if (!verified.ok || !verified.payload)
    return {
      ok: false,
      reason: verified.ok ? 'unknown_signature_type' : verified.reason,
      detail: verified.ok ? 'bundle carries no DSSE envelope' : verified.detail,
    };
  if (verified.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return { ok: false, reason: 'unknown_signature_type', detail: `payload type ${String(verified.payloadType)}` };
  const statement = parseInTotoStatement(verified.payload, 'attestation');
  if (predicateType && statement.predicateType !== predicateType) {
    return { ok: false, reason: 'invalid', detail: `predicate type is ${statement.predicateType}, expected ${predicateType}`, statement };
  }
  for (const subject of await fileSubjects(paths, options)) {
    if (!statement.subject.some((entry) => entry.digest.sha256 === subject.digest.sha256)) {
      return {
        ok: false,
        reason: 'invalid',
        detail: `${subject.name} (sha256 ${subject.digest.sha256?.slice(0, 12) ?? ''}…) is not a subject of the attestation`,
        statement,
      };
    }
  }
  return { ok: true, reason: 'valid', detail: 'attestation verified', statement };
}
