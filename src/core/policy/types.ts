/**
 * The policy as data: what `parsePolicy` returns and what every face (hook, app, CLI) hands to
 * `evaluateRefUpdate`. Plain, JSON-serialisable objects so a parsed policy can be cached or
 * logged; glob matchers are compiled lazily and cached by pattern text (see glob.ts).
 */
import type { SignatureVerdict, StatusLetter } from '../verdict.ts';

/** Letters a rule may accept. G is always required; X and Y are opt-in (see docs/policy.md). */
export type AcceptableLetter = 'G' | 'X' | 'Y';

/** One entry of an allow-list after `group:` references have been expanded. */
export type SignerEntry =
  | { kind: 'email'; email: string; via?: string }
  | KeylessEntry
  /** An X.509 certificate subject as signet prints it (RFC 4514, e.g. `CN=Alice,O=Corp`), written `x509:SUBJECT`. */
  | { kind: 'x509-subject'; subject: string; via?: string }
  | { kind: 'principal'; principal: string; via?: string }
  /** Full OpenPGP fingerprint, upper-case hex (40 for v4, 64 for v6). */
  | { kind: 'fingerprint'; fingerprint: string; via?: string }
  /** Long (64-bit) OpenPGP key id, upper-case hex, 16 digits. */
  | { kind: 'keyid'; keyId: string; via?: string }
  /** SSH public key fingerprint, `SHA256:` + unpadded base64, case-sensitive. */
  | { kind: 'ssh'; fingerprint: string; via?: string };

/** A keyless (Sigstore) identity: exactly one of each pair; regexps are anchored (checked when parsed). */
export interface KeylessIdentitySpec {
  issuer?: string;
  issuerRegexp?: string;
  subject?: string;
  subjectRegexp?: string;
}

export type KeylessEntry = { kind: 'keyless'; via?: string } & KeylessIdentitySpec;

/** Where a key file named by the policy is, so callers can read it and point at the line. */
export interface KeyFileRef {
  kind: 'openpgp' | 'ssh_allowed_signers' | 'ssh_revoked_keys' | 'x509_roots' | 'x509_crls' | 'trusted_root';
  /** As written in the policy: relative to the policy file's directory, or absolute. */
  file: string;
  /** The field path, e.g. `keys.openpgp[0]`. */
  field: string;
  line: number;
  column: number;
}

export interface PolicyKeys {
  openpgp: string[];
  sshAllowedSigners?: string;
  sshRevokedKeys?: string;
  /** PEM CA certificates X.509 (gpgsm) signatures must chain to. */
  x509Roots?: string[];
  /** CRLs of those CAs (DER or PEM). */
  x509Crls?: string[];
  /** A Sigstore trusted_root.json for gitsign commits (default: the public-good one). */
  trustedRoot?: string;
  /** Every keyless identity named in signers or groups: the ones gitsign commits may be G for. */
  keyless?: KeylessIdentitySpec[];
  forgeAccounts: boolean;
  trustWebFlow: boolean;
  /** Every key file above, with its position in the policy file. */
  files: KeyFileRef[];
}

export interface PathRule {
  /** Path globs relative to the repository root (see docs/policy.md for the syntax). */
  match: string[];
  /** The allow-list as written; undefined means "the rule's signers, or any accepted signer". */
  signers?: string[];
  /** Expanded allow-list; undefined as above. */
  allowedSigners?: SignerEntry[];
  threshold: number;
}

export interface PolicyRule {
  /** Position in `rules`, for messages (`rules[2]`). */
  index: number;
  line: number;
  refs: string[];
  requireSignedCommits: boolean;
  requireSignedTags: boolean;
  accept: AcceptableLetter[];
  /** The allow-list as written (`group:release`, e-mails, fingerprints); undefined = any registry key. */
  signers?: string[];
  /** `signers` with groups expanded. */
  allowedSigners?: SignerEntry[];
  requireEmailMatch: boolean;
  refuseSha1: boolean;
  paths: PathRule[];
  forbidForcePush: boolean;
  forbidDeletion: boolean;
  requireSignedPush: boolean;
}

export interface Policy {
  version: 1;
  /** The name the caller gave (usually the file path); used in messages. */
  source: string;
  keys: PolicyKeys;
  /** Groups as written, members unexpanded (`group:other` kept). */
  groups: Record<string, string[]>;
  rules: PolicyRule[];
  /** What `/sign-release` signs besides the release's assets. */
  release?: PolicyRelease;
}

export interface PolicyRelease {
  /** Image references, `{tag}` standing for the release tag (`ghcr.io/o/app:{tag}`). */
  images: string[];
}

export interface PolicyProblem {
  /** Field path such as `rules[0].accept[1]`; empty for YAML syntax errors. */
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
}

export interface CommitInput {
  oid: string;
  subject: string;
  committerEmail: string;
  authorEmail: string;
  verdict: SignatureVerdict;
  /** Verdicts of the signed tags this (merge) commit embeds in `mergetag` headers. */
  mergetags?: SignatureVerdict[];
  /** Paths the commit changes relative to its first parent (every path for a root commit). */
  changedPaths: string[];
}

export interface TagInput {
  oid: string;
  name: string;
  taggerEmail: string;
  verdict: SignatureVerdict;
}

export interface PushCertificateInput {
  /** GIT_PUSH_CERT_STATUS. */
  status: StatusLetter;
  /** GIT_PUSH_CERT_NONCE_STATUS: OK, SLOP, BAD, MISSING, UNSOLICITED. */
  nonceStatus?: string;
  /** GIT_PUSH_CERT_SIGNER, e.g. `Alice <alice@example.com>`. */
  signer?: string;
  /** GIT_PUSH_CERT_KEY: the signing key's id or fingerprint. */
  key?: string;
  /**
   * Our own verdict on the certificate's signature, when we checked it: its reason, format and
   * key give the push the same reasons and fix-its as a commit signed by the same key.
   */
  verdict?: SignatureVerdict;
}

export interface RefUpdateInput {
  ref: string;
  /** null (or the all-zero id) when the ref is created. */
  oldOid: string | null;
  /** null (or the all-zero id) when the ref is deleted. */
  newOid: string | null;
  isForcePush: boolean;
  /**
   * Other names whose rules apply too: the names a push reached this ref through (a symbolic
   * ref such as refs/heads/master → refs/heads/main). Their rules join the ref's own, so an
   * alias never weakens anything.
   */
  aliases?: string[];
  /** The commits this update brings that were never judged under this ref's rules, any order. */
  commits: CommitInput[];
  /** The annotated tag object the ref points at, if it points at one. */
  tag?: TagInput;
  pushCertificate?: PushCertificateInput;
}

export type ViolationCode =
  | 'UNSIGNED_COMMIT'
  | 'COMMIT_SIGNATURE_NOT_ACCEPTED'
  | 'COMMIT_SIGNER_NOT_ALLOWED'
  | 'COMMIT_EMAIL_MISMATCH'
  | 'COMMIT_WEAK_HASH'
  | 'MERGETAG_BAD_SIGNATURE'
  | 'PATH_SIGNER_NOT_ALLOWED'
  | 'PATH_THRESHOLD_NOT_MET'
  | 'FORCE_PUSH_FORBIDDEN'
  | 'DELETION_FORBIDDEN'
  | 'TAG_NOT_ANNOTATED'
  | 'TAG_NAME_MISMATCH'
  | 'REPLACE_REF_FORBIDDEN'
  | 'UNSIGNED_TAG'
  | 'TAG_SIGNATURE_NOT_ACCEPTED'
  | 'TAG_SIGNER_NOT_ALLOWED'
  | 'TAG_EMAIL_MISMATCH'
  | 'TAG_WEAK_HASH'
  | 'PUSH_NOT_SIGNED'
  | 'PUSH_SIGNATURE_NOT_ACCEPTED'
  | 'PUSH_SIGNER_NOT_ALLOWED'
  | 'PUSH_NONCE_NOT_VERIFIED';

export interface Violation {
  code: ViolationCode;
  /** The commit (or tag object) the violation is about, full id. */
  commit?: string;
  /** One line for people, naming the commit, ref or path. */
  message: string;
  /** What the pusher can do about it. */
  fix?: string;
  /** Index of the rule that was violated; -1 for a refusal that needs no rule (REPLACE_REF_FORBIDDEN). */
  rule: number;
}

export interface CommitDecision {
  oid: string;
  accepted: boolean;
  /** Why: every failed check for a rejected commit, the accepted signature for an accepted one. */
  reasons: string[];
}

export interface RefDecision {
  ref: string;
  allowed: boolean;
  /** No rule matched the ref: nothing was required. */
  noPolicy: boolean;
  violations: Violation[];
  commits: CommitDecision[];
}
