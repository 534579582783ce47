import type { KeyObject } from 'node:crypto';
import { SignetError } from '../../core/errors.ts';
import type { VerdictReason } from '../../core/verdict.ts';
import { isRecord, ociDigest, parseJson, toBase64 } from '../../core/sign/encoding.ts';
import { IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope, verifyDsse } from '../../core/sign/dsse.ts';
import { cosignTag, repositoryName, type ImageReference } from '../../core/sign/image-reference.ts';
import { COSIGN_SIGN_PREDICATE_TYPE, inTotoStatement, parseInTotoStatement, type InTotoStatement } from '../../core/sign/in-toto.ts';
import {
  attachmentManifest,
  BUNDLE_PREDICATE_ANNOTATION,
  bundleReferrerManifest,
  descriptorOf,
  DSSE_ENVELOPE_MEDIA_TYPE,
  EMPTY_CONFIG_BYTES,
  emptyIndex,
  OCI_IMAGE_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  serialize,
  signatureImageConfig,
  simpleSigningLayer,
  type Descriptor,
  type OciIndex,
  type OciManifest,
} from '../../core/sign/oci-manifest.ts';
import {
  checkSimpleSigningClaims,
  COSIGN_SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  simpleSigningPayload,
  verifySimpleSigning,
} from '../../core/sign/simple-signing.ts';
import { legacyKeylessBundle } from '../../core/sign/cosign-legacy-keyless.ts';
import { verifyKeylessBundle, type IdentityPolicy } from '../../core/sign/keyless.ts';
import type { SigstoreTrust } from '../../core/sigstore/trusted-root.ts';
import { parseSigstoreBundle, SIGSTORE_BUNDLE_V03, verifyDsseBundle, type SigstoreBundle } from '../../core/sign/sigstore-bundle.ts';
import type { Signer } from '../../core/sign/signer.ts';
import type { RegistryClient } from './registry-client.ts';
import { signDsseBundle, type AttestationSigner } from '../keyless/dsse-bundle-signer.ts';

export interface ResolvedImage {
  ref: ImageReference;
  /** The manifest's own descriptor: what signatures name and referrers point at. */
  descriptor: Descriptor;
}

/** Resolves a tag to its manifest digest (or checks that a digest exists). */
export async function resolveImage(client: RegistryClient, ref: ImageReference): Promise<ResolvedImage> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const manifest = await client.getManifest(ref.repository, reference);
  if (!manifest) throw new SignetError('OBJECT_MISSING', `${ref.registry}/${ref.repository}@${reference}: no such manifest`);
  return { ref, descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length } };
}

function sameLayer(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {});
}

/** Adds one layer to cosign's `sha256-<hex>.sig` / `.att` image, keeping the layers already there. */
async function appendToAttachment(client: RegistryClient, image: ResolvedImage, suffix: 'sig' | 'att', layer: Descriptor, bytes: Uint8Array): Promise<string> {
  const repository = image.ref.repository;
  const tag = cosignTag(image.descriptor.digest, suffix);
  const existing = await client.getManifest(repository, tag, OCI_MANIFEST);
  let layers: Descriptor[] = [];
  if (existing) {
    const parsed = parseJson(existing.bytes, `${tag} manifest`);
    if (isRecord(parsed) && Array.isArray(parsed.layers)) layers = parsed.layers.filter(isRecord) as unknown as Descriptor[];
  }
  if (!layers.some((known) => sameLayer(known, layer))) layers.push(layer);
  await client.putBlob(repository, bytes);
  const config = signatureImageConfig(layers);
  await client.putBlob(repository, config);
  const manifest = serialize(attachmentManifest(layers, descriptorOf(OCI_IMAGE_CONFIG, config)));
  await client.putManifest(repository, tag, manifest, OCI_MANIFEST);
  return tag;
}

/** cosign's legacy format: simple-signing payload in a layer of `sha256-<hex>.sig`, signature in an annotation. */
export async function signImageLegacy(
  client: RegistryClient,
  image: ResolvedImage,
  signer: Signer,
  annotations: Record<string, string> = {},
): Promise<{ tag: string; payload: Buffer }> {
  const payload = simpleSigningPayload(repositoryName(image.ref), image.descriptor.digest, annotations);
  const signature = await signer.sign(payload);
  const layer = simpleSigningLayer(payload, { [COSIGN_SIGNATURE_ANNOTATION]: toBase64(signature) });
  return { tag: await appendToAttachment(client, image, 'sig', layer, payload), payload };
}

/** cosign's legacy attestation format: the DSSE envelope as a layer of `sha256-<hex>.att`. */
export async function attachAttestationLegacy(client: RegistryClient, image: ResolvedImage, envelopeJson: Buffer, predicateType: string): Promise<string> {
  const layer = descriptorOf(DSSE_ENVELOPE_MEDIA_TYPE, envelopeJson, { annotations: { predicateType } });
  return appendToAttachment(client, image, 'att', layer, envelopeJson);
}

export type ReferrerStorage = 'referrers-api' | 'fallback-tag';

/**
 * Pushes a bundle as an OCI 1.1 referrer of the image. Where the registry lacks the referrers API
 * (no `OCI-Subject` answer, API 404) the referrer is listed in the index tagged `sha256-<hex>`,
 * the distribution spec's fallback that cosign v3 also reads.
 */
export async function pushBundleReferrer(
  client: RegistryClient,
  image: ResolvedImage,
  bundle: SigstoreBundle,
  predicateType: string,
  created: string,
): Promise<{ digest: string; storage: ReferrerStorage }> {
  const repository = image.ref.repository;
  const bundleBytes = serialize(bundle);
  const manifest = bundleReferrerManifest(image.descriptor, bundleBytes, predicateType, created);
  await client.putBlob(repository, EMPTY_CONFIG_BYTES);
  await client.putBlob(repository, bundleBytes);
  const manifestBytes = serialize(manifest);
  const { digest, subjectProcessed } = await client.putManifest(repository, ociDigest(manifestBytes), manifestBytes, OCI_MANIFEST);
  if (subjectProcessed || (await client.getReferrers(repository, image.descriptor.digest)) !== undefined) return { digest, storage: 'referrers-api' };
  const tag = cosignTag(image.descriptor.digest, '');
  const current = await client.getManifest(repository, tag, OCI_INDEX);
  const index: OciIndex = current ? (parseJson(current.bytes, `${tag} index`) as OciIndex) : emptyIndex();
  if (!Array.isArray(index.manifests)) index.manifests = [];
  if (!index.manifests.some((entry) => entry.digest === digest)) {
    index.manifests.push({
      mediaType: OCI_MANIFEST,
      digest,
      size: manifestBytes.length,
      artifactType: SIGSTORE_BUNDLE_V03,
      ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
    });
  }
  await client.putManifest(repository, tag, serialize(index), OCI_INDEX);
  return { digest, storage: 'fallback-tag' };
}

/** cosign v3's format: a DSSE bundle whose in-toto statement (predicate `cosign/sign/v1`) names the image digest. */
export async function signImageBundle(
  client: RegistryClient,
  image: ResolvedImage,
  signer: AttestationSigner,
  annotations: Record<string, string>,
  created: string,
): Promise<{ digest: string; storage: ReferrerStorage }> {
  const statement = inTotoStatement(
    [{ name: repositoryName(image.ref), digest: { sha256: image.descriptor.digest.slice(7) } }],
    COSIGN_SIGN_PREDICATE_TYPE,
    annotations,
  );
  return pushBundleReferrer(client, image, await signDsseBundle(signer, IN_TOTO_PAYLOAD_TYPE, serialize(statement)), COSIGN_SIGN_PREDICATE_TYPE, created);
}

/** Referrer descriptors that are sigstore bundles: from the API, else from the fallback tag. */
export async function bundleReferrers(client: RegistryClient, image: ResolvedImage): Promise<Descriptor[]> {
  const repository = image.ref.repository;
  const viaApi = await client.getReferrers(repository, image.descriptor.digest, SIGSTORE_BUNDLE_V03);
  let entries = viaApi?.manifests;
  if (!entries) {
    const fallback = await client.getManifest(repository, cosignTag(image.descriptor.digest, ''), OCI_INDEX);
    const parsed = fallback ? parseJson(fallback.bytes, 'referrers fallback index') : undefined;
    entries = isRecord(parsed) && Array.isArray(parsed.manifests) ? (parsed.manifests.filter(isRecord) as unknown as Descriptor[]) : [];
  }
  return entries.filter((entry) => entry.artifactType === SIGSTORE_BUNDLE_V03);
}

/** Whom to trust: one public key, or keyless signatures by an identity under a trusted root. */
/** Several identities: any one of them may have signed (an admission authority lists many). */
export type ImageTrust = KeyObject | { keyless: SigstoreTrust; identity: IdentityPolicy | readonly IdentityPolicy[] };

function isKeyless(trust: ImageTrust): trust is { keyless: SigstoreTrust; identity: IdentityPolicy | readonly IdentityPolicy[] } {
  return typeof (trust as { keyless?: unknown }).keyless === 'object';
}

export interface ImageCheck {
  format: 'legacy' | 'bundle';
  /** Where it was found: the `.sig`/`.att` tag or the referrer's digest. */
  source: string;
  ok: boolean;
  reason: VerdictReason;
  detail: string;
  /** What was signed: the simple-signing payload or the in-toto statement (parsed JSON). */
  payload?: unknown;
}

async function readReferrerBundle(
  client: RegistryClient,
  image: ResolvedImage,
  descriptor: Descriptor,
): Promise<{ manifest: OciManifest; bundle: SigstoreBundle; json: unknown } | string> {
  const fetched = await client.getManifest(image.ref.repository, descriptor.digest, OCI_MANIFEST);
  if (!fetched) return 'referrer manifest missing';
  const manifest = parseJson(fetched.bytes, 'referrer manifest') as OciManifest;
  if (manifest.subject?.digest !== image.descriptor.digest) return `referrer's subject is ${String(manifest.subject?.digest)}, not this image`;
  const layer = manifest.layers?.find((entry) => entry.mediaType === SIGSTORE_BUNDLE_V03);
  if (!layer) return 'referrer has no bundle layer';
  try {
    const bytes = await client.getBlob(image.ref.repository, layer.digest);
    return { manifest, bundle: parseSigstoreBundle(bytes, 'referrer bundle'), json: parseJson(bytes, 'referrer bundle') };
  } catch (error) {
    return (error as Error).message;
  }
}

function checkStatement(
  statement: InTotoStatement,
  image: ResolvedImage,
  predicateType: string | undefined,
  annotations: Record<string, string>,
): { reason: VerdictReason; detail: string } | undefined {
  const hex = image.descriptor.digest.slice(7);
  if (!statement.subject.some((subject) => subject.digest.sha256 === hex))
    return { reason: 'invalid', detail: `statement does not name ${image.descriptor.digest}` };
  if (predicateType && statement.predicateType !== predicateType)
    return { reason: 'invalid', detail: `predicate type is ${statement.predicateType}, expected ${predicateType}` };
  const predicate = isRecord(statement.predicate) ? statement.predicate : {};
  for (const [name, expected] of Object.entries(annotations)) {
    if (String(predicate[name]) !== expected)
      return {
        reason: 'invalid',
        detail: `annotation ${name} is ${predicate[name] === undefined ? 'missing' : `'${String(predicate[name])}'`}, expected '${expected}'`,
      };
  }
  return undefined;
}

/** Checks a DSSE bundle: signature (key or keyless), then statement (subject digest, predicate type, annotations). */
function checkDsseBundle(
  read: { bundle: SigstoreBundle; json: unknown },
  trust: ImageTrust,
  image: ResolvedImage,
  predicateType: string | undefined,
  annotations: Record<string, string>,
): Omit<ImageCheck, 'format' | 'source'> {
  let payloadType: string | undefined;
  let payload: Buffer | undefined;
  if (isKeyless(trust)) {
    const verified = verifyKeylessBundle(read.json, {}, trust.keyless, trust.identity);
    if (!verified.ok)
      return {
        ok: false,
        reason: verified.check === 'identity' ? 'unknown_key' : 'invalid',
        detail: `keyless ${verified.check} check failed: ${verified.detail}`,
      };
    payloadType = read.bundle.dsseEnvelope?.payloadType;
    payload = read.bundle.dsseEnvelope ? Buffer.from(read.bundle.dsseEnvelope.payload, 'base64') : undefined;
    if (!payload) return { ok: false, reason: 'unknown_signature_type', detail: 'keyless bundle is not a DSSE envelope' };
  } else {
    const verified = verifyDsseBundle(read.bundle, trust);
    if (!verified.ok || !verified.payload) return { ok: false, reason: verified.reason, detail: verified.detail };
    payloadType = verified.payloadType;
    payload = Buffer.from(verified.payload);
  }
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return { ok: false, reason: 'unknown_signature_type', detail: `payload type ${String(payloadType)}` };
  const statement = parseInTotoStatement(payload, 'DSSE payload');
  const problem = checkStatement(statement, image, predicateType, annotations);
  return problem ? { ok: false, ...problem, payload: statement } : { ok: true, reason: 'valid', detail: 'signature verified', payload: statement };
}

/** A legacy `.sig` layer: the simple-signing payload's signature by the key, or keyless with its annotations. */
function checkLegacySignature(
  payload: Buffer,
  layer: Descriptor,
  trust: ImageTrust,
  image: ResolvedImage,
  annotations: Record<string, string>,
): Omit<ImageCheck, 'format' | 'source'> {
  const signature = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION] ?? '';
  if (!isKeyless(trust)) {
    const result = verifySimpleSigning({ payload, signatureBase64: signature, publicKey: trust, manifestDigest: image.descriptor.digest, annotations });
    return { ok: result.ok, reason: result.reason, detail: result.detail };
  }
  const rebuilt = legacyKeylessBundle(payload, signature, layer.annotations ?? {});
  if ('problem' in rebuilt) return { ok: false, reason: 'unknown_key', detail: rebuilt.problem };
  const verified = verifyKeylessBundle(rebuilt.bundle, { artifact: payload }, trust.keyless, trust.identity);
  if (!verified.ok)
    return {
      ok: false,
      reason: verified.check === 'identity' ? 'unknown_key' : 'invalid',
      detail: `keyless ${verified.check} check failed: ${verified.detail}`,
    };
  const claims = checkSimpleSigningClaims(payload, image.descriptor.digest, annotations);
  return { ok: claims.ok, reason: claims.reason, detail: claims.ok ? verified.detail : claims.detail };
}

/** Every signature on the image, legacy and bundle, each checked against the key and the claims. */
export async function verifyImageSignatures(
  client: RegistryClient,
  image: ResolvedImage,
  trust: ImageTrust,
  annotations: Record<string, string> = {},
): Promise<ImageCheck[]> {
  const checks: ImageCheck[] = [];
  const repository = image.ref.repository;
  const tag = cosignTag(image.descriptor.digest, 'sig');
  const legacy = await client.getManifest(repository, tag, OCI_MANIFEST);
  if (legacy) {
    const manifest = parseJson(legacy.bytes, `${tag} manifest`) as OciManifest;
    for (const layer of Array.isArray(manifest.layers) ? manifest.layers : []) {
      const signature = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
      if (signature === undefined) continue;
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
        checks.push({ format: 'legacy', source: tag, ok: false, reason: 'unknown_signature_type', detail: `layer media type ${layer.mediaType}` });
        continue;
      }
      const payload = await client.getBlob(repository, layer.digest);
      const result = checkLegacySignature(payload, layer, trust, image, annotations);
      checks.push({ format: 'legacy', source: tag, ...result, ...(result.ok ? { payload: JSON.parse(payload.toString('utf8')) as unknown } : {}) });
    }
  }
  for (const descriptor of await bundleReferrers(client, image)) {
    if (
      descriptor.annotations?.[BUNDLE_PREDICATE_ANNOTATION] !== undefined &&
      descriptor.annotations[BUNDLE_PREDICATE_ANNOTATION] !== COSIGN_SIGN_PREDICATE_TYPE
    )
      continue;
    const read = await readReferrerBundle(client, image, descriptor);
    if (typeof read === 'string') {
      checks.push({ format: 'bundle', source: descriptor.digest, ok: false, reason: 'malformed_signature', detail: read });
      continue;
    }
    if (read.manifest.annotations?.[BUNDLE_PREDICATE_ANNOTATION] !== COSIGN_SIGN_PREDICATE_TYPE) continue;
    checks.push({ format: 'bundle', source: descriptor.digest, ...checkDsseBundle(read, trust, image, COSIGN_SIGN_PREDICATE_TYPE, annotations) });
  }
  return checks;
}

/** Every attestation on the image (legacy `.att` layers and bundle referrers), optionally of one predicate type. */
export async function verifyImageAttestations(client: RegistryClient, image: ResolvedImage, trust: ImageTrust, predicateType?: string): Promise<ImageCheck[]> {
  const checks: ImageCheck[] = [];
  const repository = image.ref.repository;
  const tag = cosignTag(image.descriptor.digest, 'att');
  const legacy = await client.getManifest(repository, tag, OCI_MANIFEST);
  if (legacy) {
    const manifest = parseJson(legacy.bytes, `${tag} manifest`) as OciManifest;
    for (const layer of Array.isArray(manifest.layers) ? manifest.layers : []) {
      if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) continue;
      if (predicateType && layer.annotations?.predicateType !== undefined && layer.annotations.predicateType !== predicateType) continue;
      const envelope = parseDsseEnvelope(parseJson(await client.getBlob(repository, layer.digest), 'attestation layer'), 'attestation layer');
      if (isKeyless(trust)) {
        // cosign's legacy keyless attestations are logged as intoto entries: not read here yet.
        checks.push({
          format: 'legacy',
          source: tag,
          ok: false,
          reason: 'unknown_signature_type',
          detail: 'legacy (.att) keyless attestations are not verified by signet; attest in the bundle format',
        });
        continue;
      }
      const payload = verifyDsse(envelope, trust);
      if (!payload) {
        checks.push({ format: 'legacy', source: tag, ok: false, reason: 'invalid', detail: 'no DSSE signature verifies with the given key' });
        continue;
      }
      const statement = parseInTotoStatement(payload, 'attestation');
      const problem = checkStatement(statement, image, predicateType, {});
      checks.push({
        format: 'legacy',
        source: tag,
        ...(problem ? { ok: false, ...problem } : { ok: true, reason: 'valid' as const, detail: 'attestation verified' }),
        payload: statement,
      });
    }
  }
  for (const descriptor of await bundleReferrers(client, image)) {
    const kind = descriptor.annotations?.[BUNDLE_PREDICATE_ANNOTATION];
    if (kind === COSIGN_SIGN_PREDICATE_TYPE || (predicateType && kind !== undefined && kind !== predicateType)) continue;
    const read = await readReferrerBundle(client, image, descriptor);
    if (typeof read === 'string') {
      checks.push({ format: 'bundle', source: descriptor.digest, ok: false, reason: 'malformed_signature', detail: read });
      continue;
    }
    if (read.manifest.annotations?.[BUNDLE_PREDICATE_ANNOTATION] === COSIGN_SIGN_PREDICATE_TYPE) continue;
    checks.push({ format: 'bundle', source: descriptor.digest, ...checkDsseBundle(read, trust, image, predicateType, {}) });
  }
  return checks;
}
