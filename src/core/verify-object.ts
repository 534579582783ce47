import type { OpenPgpRegistry } from './openpgp/index.ts';
import { verifyOpenPgpSignature } from './openpgp/index.ts';
import type { SshRegistry } from './ssh/index.ts';
import { verifySshSignature, verifySshSignatureWith } from './ssh/index.ts';
import type { X509Registry } from './x509/index.ts';
import type { KeylessRegistry } from './sigstore/keyless-registry.ts';
import type { CheckRunner } from './native-verify.ts';
import { hasSignerIdentity, parseCommit, parseTag, subjectOf, type ExtractedSignature, type ObjectHash, type Person } from './git/signed-object.ts';
import { unsignedVerdict, type SignatureVerdict } from './verdict.ts';
import { SignetError } from './errors.ts';

/** The roots of trust a verification runs against (DESIGN.md: the registry is the root). */
export interface KeyRegistries {
  openpgp: OpenPgpRegistry;
  ssh: SshRegistry;
  /** CA certificates and CRLs for X.509 (gpgsm) signatures; absent: none trusted. */
  x509?: X509Registry;
  /** Sigstore trusted root and keyless identities for gitsign signatures; absent: none trusted. */
  keyless?: KeylessRegistry;
}

const NO_X509_ROOTS: X509Registry = { roots: [], crls: [] };

export interface VerifyObjectOptions {
  hash: ObjectHash;
  /** "Now" for key and signature expiry (OpenPGP, as gpg judges it). */
  now: Date;
  /**
   * The time at which SSH keys must have been valid. Default: the committer (tagger) time,
   * as git does; a server that knows when the push arrived can pass that instead.
   */
  sshVerifyTime?: Date;
  /**
   * Where the signature cryptography runs (default: this thread). With a thread-pool runner,
   * callers keep several objects in flight to use every core.
   */
  runner?: CheckRunner;
}

export interface TagResult {
  tag: string;
  name: string;
  target: string;
  targetType: string;
  tagger?: Person;
  subject: string;
  verdict: SignatureVerdict;
}

export interface CommitResult {
  commit: string;
  parents: string[];
  author?: Person;
  committer?: Person;
  subject: string;
  verdict: SignatureVerdict;
  /** Signed tags merged by this commit (`mergetag` headers), each verified on its own. */
  mergetags: TagResult[];
}

/** Whom and when a signature is judged for. */
export interface SignatureContext {
  now: Date;
  sshTime: Date;
  /** The committer's (tagger's) e-mail, to say whether it is one of the key's identities. */
  email?: string;
  /** The committer (tagger) time: X.509 validity is judged at it when the signature names no signing time. */
  signerTime?: Date;
  runner?: CheckRunner;
  /**
   * Set when the object has no committer (tagger) line git can read as `name <email>`: git
   * then never checks the signature (gpg-interface.c, parse_payload_metadata; %G? says N),
   * and neither do we, so that such an object is never G here where it is not G in git.
   */
  unreadableSigner?: 'committer' | 'tagger';
}

export async function verifySignature(
  registries: KeyRegistries,
  payload: Uint8Array,
  signature: ExtractedSignature | undefined,
  multipleSignatures: boolean,
  context: SignatureContext,
): Promise<SignatureVerdict> {
  if (!signature) return unsignedVerdict();
  if (multipleSignatures) {
    // git would hand both blocks to gpg and report whichever verdict it prints last; an object
    // with two signatures has no single signer, so we refuse to pick one.
    return {
      status: 'E',
      format: signature.kind === 'unknown' ? 'none' : signature.kind,
      reason: 'malformed_signature',
      detail: 'the object carries more than one signature block',
    };
  }
  if (context.unreadableSigner && (signature.kind === 'openpgp' || signature.kind === 'ssh' || signature.kind === 'x509')) {
    return {
      status: 'E',
      format: signature.kind,
      reason: 'malformed_signature',
      detail: `the object has no ${context.unreadableSigner} line of the form "name <email>": git does not check its signature (%G? says N)`,
    };
  }
  const email = context.email;
  switch (signature.kind) {
    case 'openpgp':
      return verifyOpenPgpSignature(registries.openpgp, payload, signature.armored, {
        now: context.now,
        ...(email ? { committerEmail: email } : {}),
        ...(context.runner ? { runner: context.runner } : {}),
      });
    case 'ssh': {
      const sshOptions = { at: context.sshTime, ...(email ? { committerEmail: email } : {}) };
      return context.runner
        ? verifySshSignatureWith(context.runner, registries.ssh, payload, signature.armored, sshOptions)
        : verifySshSignature(registries.ssh, payload, signature.armored, sshOptions);
    }
    case 'x509': {
      // Loaded on the first X.509 or gitsign signature: pkijs, asn1js and sigstore are most of
      // the bundle, and compiling them was a third of a `signet verify` start-up that needs none.
      const { verifyX509Signature } = await import('./x509/verify.ts');
      return verifyX509Signature(registries.x509 ?? NO_X509_ROOTS, payload, signature.armored, {
        now: context.now,
        fallbackTime: context.signerTime ?? context.sshTime,
        ...(email ? { committerEmail: email } : {}),
        ...(registries.keyless ? { keyless: registries.keyless } : {}),
      });
    }
    default:
      return { status: 'E', format: 'none', reason: 'unknown_signature_type', detail: 'the signature block is of no known type' };
  }
}

export async function verifyCommitObject(oid: string, raw: Uint8Array, registries: KeyRegistries, options: VerifyObjectOptions): Promise<CommitResult> {
  const commit = parseCommit(raw, options.hash, `commit ${oid}`);
  const committer = commit.committer;
  const context: SignatureContext = { now: options.now, sshTime: options.sshVerifyTime ?? new Date((committer?.time ?? 0) * 1000) };
  if (committer?.email) context.email = committer.email;
  if (committer) context.signerTime = new Date(committer.time * 1000);
  if (commit.signature && !hasSignerIdentity(commit.payload, 'committer')) context.unreadableSigner = 'committer';
  if (options.runner) context.runner = options.runner;
  const verdict = await verifySignature(registries, commit.payload, commit.signature, commit.multipleSignatures ?? false, context);
  const mergetags: TagResult[] = [];
  for (const tagBytes of commit.mergetags) {
    mergetags.push(await verifyTagObject(undefined, tagBytes, registries, options));
  }
  // Built field by field, not with spreads: this runs once per commit of every range.
  const subject = subjectOf(commit.message, commit.encoding);
  const author = commit.author;
  if (author && committer) return { commit: oid, parents: commit.parents, author, committer, subject, verdict, mergetags };
  return { commit: oid, parents: commit.parents, ...(author ? { author } : {}), ...(committer ? { committer } : {}), subject, verdict, mergetags };
}

/** `oid` is undefined for a tag carried inside a mergetag header (it is not in the store). */
export async function verifyTagObject(oid: string | undefined, raw: Uint8Array, registries: KeyRegistries, options: VerifyObjectOptions): Promise<TagResult> {
  const tag = parseTag(raw, options.hash, oid ? `tag ${oid}` : 'mergetag');
  if (!tag.object) throw new SignetError('OBJECT_MALFORMED', `tag ${oid ?? '(mergetag)'} names no object`);
  const sshTime = options.sshVerifyTime ?? new Date((tag.tagger?.time ?? 0) * 1000);
  const verdict = await verifySignature(registries, tag.payload, tag.signature, tag.multipleSignatures ?? false, {
    now: options.now,
    sshTime,
    ...(tag.tagger ? { signerTime: new Date(tag.tagger.time * 1000) } : {}),
    ...(tag.tagger?.email ? { email: tag.tagger.email } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
    ...(tag.signature && !hasSignerIdentity(tag.payload, 'tagger') ? { unreadableSigner: 'tagger' as const } : {}),
  });
  return {
    tag: oid ?? '',
    name: tag.name,
    target: tag.object,
    targetType: tag.type,
    ...(tag.tagger ? { tagger: tag.tagger } : {}),
    subject: subjectOf(tag.message),
    verdict,
  };
}
