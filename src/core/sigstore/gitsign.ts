import { createHash } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate as SigstoreCertificate } from '@sigstore/core';
import { toSignedEntity, Verifier, VerificationError } from '@sigstore/verify';
import * as asn1js from 'asn1js';
import type { SignatureVerdict } from '../verdict.ts';
import { identityMatches } from './identity.ts';
import type { KeylessRegistry } from './keyless-registry.ts';
import { readBer } from '../x509/ber-read.ts';
import { ProtoError, readLogEntry } from './log-entry-proto.ts';

/** The Rekor TransparencyLogEntry gitsign stores as an unsigned CMS attribute ("offline" mode). */
export const REKOR_ENTRY_ATTRIBUTE = '1.3.6.1.4.1.57264.3.1';
const ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

/** What the CMS layer has already read and checked (the signature over the signed attributes holds). */
export interface GitsignSignature {
  certificate: Uint8Array;
  /** SAN e-mails and URIs, in that order. */
  emails: readonly string[];
  uris: readonly string[];
  extensions: ReadonlyMap<string, Uint8Array>;
  signature: Uint8Array;
  /** DER SET OF signed attributes: what the signature and the log entry cover. */
  signedAttributes: Uint8Array;
  unsignedAttributes: ReadonlyMap<string, Uint8Array[]>;
}

/**
 * The OIDC issuer Fulcio wrote into the certificate: .1.8 (a DER UTF8String) or legacy .1.1 (raw
 * text). The signer controls these bytes (any self-made certificate can carry the extension), so
 * bytes the decoder cannot read are a problem to report, not a throw.
 */
export function fulcioIssuer(extensions: ReadonlyMap<string, Uint8Array>): { issuer: string | undefined } | { problem: string } {
  const v2 = extensions.get(ISSUER_V2);
  if (v2) {
    const parsed = readBer(v2);
    if (!parsed.ok) return { problem: `the Fulcio issuer extension ${ISSUER_V2} is ${parsed.problem}` };
    if (parsed.result instanceof asn1js.Utf8String) return { issuer: parsed.result.valueBlock.value };
  }
  const v1 = extensions.get(ISSUER_V1);
  if (!v1) return { issuer: undefined };
  try {
    return { issuer: new TextDecoder('utf-8', { fatal: true }).decode(v1) };
  } catch {
    return { problem: `the Fulcio issuer extension ${ISSUER_V1} is not UTF-8` };
  }
}

/**
 * Reads the certificate the way @sigstore/verify will, touching every field it reads during
 * verification: its parser decodes on each access (getters) and throws plain errors on bytes
 * it cannot read, which the verifier would pass on as a crash rather than a verdict. The
 * getters are pure, so what reads here reads the same inside the verifier. Returns the problem.
 */
export function sigstoreCertificateProblem(der: Uint8Array): string | undefined {
  try {
    const certificate = SigstoreCertificate.parse(Buffer.from(der));
    void [certificate.tbsCertificate.toDER(), certificate.version, certificate.serialNumber, certificate.notBefore, certificate.notAfter];
    void [certificate.issuer, certificate.subject, certificate.publicKey, certificate.signatureAlgorithm, certificate.signatureValue];
    void [certificate.subjectAltName, certificate.isCA, certificate.extAuthorityKeyID?.keyIdentifier, certificate.extSubjectKeyID?.keyIdentifier];
    void certificate.extSCT?.signedCertificateTimestamps;
    for (const extension of certificate.extensions) void extension.subs[0]?.toOID();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function pem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * The hashedrekord entry gitsign logs, rebuilt (the stored entry drops the body): the SHA-256
 * of the signed attributes, the signature, the certificate as PEM; canonical JSON (RFC 8785:
 * keys sorted, no spaces), which this literal already is.
 */
export function hashedRekordBody(signature: Uint8Array, signedAttributes: Uint8Array, certificate: Uint8Array): string {
  const digest = createHash('sha256').update(signedAttributes).digest('hex');
  return JSON.stringify({
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: digest } },
      signature: { content: Buffer.from(signature).toString('base64'), publicKey: { content: Buffer.from(pem(certificate)).toString('base64') } },
    },
  });
}

/** A signed-note signature line: `— <name> <base64 key hint and signature>` (as sigstore-js reads it). */
const CHECKPOINT_SIGNATURE = /\u2014 (\S+) (\S+)\n/g;
const PLAIN_NAME = /^[A-Za-z0-9._:/-]+$/;

/**
 * The checkpoint's signature lines. sigstore-js matches a line's log name with `baseURL.match(name)`: the
 * signer's text as a regular expression, so `rekor.loca|` names any log and `rekor(` throws
 * a SyntaxError out of the verifier (found by the property test). Names must be plain
 * host/path text (checked before the verifier runs), and one a trusted log's URL contains
 * (checked after it accepts, so an untrusted log still reads as the verifier's own verdict).
 */
function checkpointSignatureProblem(envelope: string, registry: KeylessRegistry, stage: 'text' | 'log'): string | undefined {
  const data = envelope.slice(envelope.indexOf('\n\n') + 2);
  for (const [, name, signature] of data.matchAll(CHECKPOINT_SIGNATURE)) {
    const shown = name!.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
    if (stage === 'text' && !PLAIN_NAME.test(name!)) return `the checkpoint names its log '${shown}', which is not a log name`;
    // Node's base64 decoder ignores stray characters and the padding bits: one signature, many
    // texts. Only the canonical text is taken, so the entry has one reading (property test).
    if (stage === 'text' && Buffer.from(signature!, 'base64').toString('base64') !== signature)
      return `the checkpoint signature of '${shown}' is not canonical base64`;
    if (stage === 'log' && !registry.trustMaterial.tlogs.some((log) => log.baseURL.includes(name!)))
      return `the checkpoint is signed in the name of '${shown}', not a log of the trusted root`;
  }
  return undefined;
}

/**
 * Verifies a gitsign (Sigstore keyless) signature offline: the Rekor entry it carries (SET
 * and/or inclusion proof against the trusted root's log keys, body rebuilt from the signature
 * and certificate), the certificate chain to the trusted root's Fulcio CAs at the log's
 * integrated time, then the identity. The letter for a good signature whose identity is not
 * trusted is U; G needs every check.
 */
export function verifyGitsign(registry: KeylessRegistry | undefined, signed: GitsignSignature, base: SignatureVerdict): SignatureVerdict {
  const subject = signed.emails[0] ?? signed.uris[0] ?? '';
  const read = fulcioIssuer(signed.extensions);
  if ('problem' in read) return { ...base, status: 'E', format: 'x509', reason: 'malformed_signature', detail: read.problem };
  const issuer = read.issuer;
  const good: SignatureVerdict = {
    ...base,
    format: 'x509',
    signer: issuer ? `${subject} (${issuer})` : subject,
    keyless: { subject, ...(issuer !== undefined ? { issuer } : {}) },
  };
  const stored = signed.unsignedAttributes.get(REKOR_ENTRY_ATTRIBUTE);
  if (!stored) {
    return {
      ...good,
      status: 'E',
      reason: 'unknown_key',
      detail: 'gitsign signature without a Rekor log entry (online mode): it needs a log lookup, so it cannot be verified offline',
    };
  }
  if (stored.length !== 1) return { ...good, status: 'E', reason: 'malformed_signature', detail: 'the Rekor log entry attribute must have exactly one value' };
  let entry;
  try {
    const octets = readBer(stored[0]!);
    if (!octets.ok || !(octets.result instanceof asn1js.OctetString)) throw new ProtoError('the attribute value is not an OCTET STRING');
    entry = readLogEntry(new Uint8Array(octets.result.valueBlock.valueHexView));
  } catch (error) {
    if (error instanceof ProtoError || error instanceof TypeError)
      return { ...good, status: 'E', reason: 'malformed_signature', detail: `unreadable Rekor log entry: ${error.message}` };
    throw error;
  }
  // sigstore-js checks the proof against the signed checkpoint's root only; a proof whose own
  // root hash or tree size disagrees with that checkpoint is inconsistent, so refuse it here.
  if (entry.inclusionProof) {
    const [, size, root] = entry.inclusionProof.checkpoint.envelope.split('\n');
    if (root !== entry.inclusionProof.rootHash || size !== entry.inclusionProof.treeSize) {
      return { ...good, status: 'E', reason: 'invalid', detail: "log: the inclusion proof's root hash or tree size differs from its signed checkpoint" };
    }
  }
  const unreadable = sigstoreCertificateProblem(signed.certificate);
  if (unreadable !== undefined) return { ...good, status: 'E', reason: 'malformed_signature', detail: `the Fulcio certificate is unreadable: ${unreadable}` };
  const rebuilt = Buffer.from(hashedRekordBody(signed.signature, signed.signedAttributes, signed.certificate)).toString('base64');
  if (!registry) return { ...good, status: 'U', reason: 'unknown_key', detail: 'keyless signature: no Sigstore trusted root or identity in the registry' };
  const envelope = entry.inclusionProof?.checkpoint.envelope ?? '';
  const unnamed = checkpointSignatureProblem(envelope, registry, 'text');
  if (unnamed !== undefined) return { ...good, status: 'E', reason: 'invalid', detail: `log: ${unnamed}` };
  let bundle;
  try {
    bundle = bundleFromJSON({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        certificate: { rawBytes: Buffer.from(signed.certificate).toString('base64') },
        tlogEntries: [{ ...entry, canonicalizedBody: entry.canonicalizedBody ?? rebuilt }],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(signed.signedAttributes).digest('base64') },
        signature: Buffer.from(signed.signature).toString('base64'),
      },
    });
  } catch (error) {
    return { ...good, status: 'E', reason: 'malformed_signature', detail: `the Rekor log entry does not form a Sigstore bundle: ${(error as Error).message}` };
  }
  let integrated: number;
  try {
    const verifier = new Verifier(registry.trustMaterial, { tlogThreshold: 1, ctlogThreshold: 0, tsaThreshold: 0, timestampThreshold: 1 });
    verifier.verify(toSignedEntity(bundle, Buffer.from(signed.signedAttributes)));
    integrated = Number(entry.integratedTime);
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error;
    const cause = error.cause instanceof Error ? error.cause.message : '';
    const detail = `${error.code}: ${error.message}${cause ? ` (${cause})` : ''}`;
    if (error.code === 'CERTIFICATE_ERROR' && /not valid or expired/.test(cause)) {
      return { ...good, status: 'E', reason: 'expired_key', detail: `time: the certificate was not valid at the log's integrated time — ${detail}` };
    }
    if (error.code === 'CERTIFICATE_ERROR')
      return { ...good, status: 'U', reason: 'unknown_key', detail: `chain: the certificate does not chain to a Fulcio CA of ${registry.source} — ${detail}` };
    if (error.code === 'SIGNATURE_ERROR') return { ...good, status: 'B', reason: 'invalid', detail: `signature: ${detail}` };
    return { ...good, status: 'E', reason: 'invalid', detail: `log: the Rekor entry does not vouch for this signature — ${detail}` };
  }
  const misnamed = checkpointSignatureProblem(envelope, registry, 'log');
  if (misnamed !== undefined) return { ...good, status: 'E', reason: 'invalid', detail: `log: ${misnamed}` };
  const trusted = registry.identities.some((identity) => identityMatches(identity, subject, issuer));
  if (!trusted) {
    return {
      ...good,
      status: 'U',
      reason: 'unknown_key',
      signedAt: integrated,
      detail: `identity: ${subject || '(no SAN)'} from issuer ${issuer ?? '(none)'} is not a trusted keyless identity`,
    };
  }
  return { ...good, status: 'G', reason: 'valid', signedAt: integrated };
}
