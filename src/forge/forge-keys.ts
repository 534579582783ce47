/**
 * The roots of trust for one check: the policy's own key files (read from the default branch)
 * plus, when the policy says `forge_accounts: true`, the keys people registered on the forge.
 *
 * Forge keys carry the forge's e-mail rule, as GitHub applies it: a signature by a key an
 * account registered counts only when the committer e-mail is a verified e-mail of that same
 * account. The forge tells us which account a committer e-mail belongs to (GitHub links a
 * commit to a user only through a verified e-mail); `applyForgeEmailRule` downgrades every
 * other good signature by a forge key to U with reason `unverified_email` (or `bad_email`
 * when the e-mail is not even one of the OpenPGP key's user IDs).
 */
import { loadOpenPgpRegistry, type KeySourceText } from '../core/openpgp/index.ts';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys, type AllowedSigner } from '../core/ssh/index.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import type { KeyRegistries } from '../core/verify-object.ts';
import type { KeylessIdentity } from '../core/sigstore/keyless-registry.ts';
import { buildRegistries } from '../keys/load-registries.ts';

export interface ForgeAccountKeys {
  /** The forge's account name (GitHub login, GitLab username). */
  account: string;
  /** Armored OpenPGP public keys (GitHub's `raw_key`, GitLab's `key`). */
  gpgKeys: string[];
  /** OpenSSH public key lines registered for signing. */
  sshSigningKeys: string[];
  /** E-mails the forge told us are this account's verified ones (SSH principals). */
  verifiedEmails: string[];
  /** Trusted without the e-mail rule (GitHub's web-flow key when `trust_web_flow: true`). */
  trustedForAnyEmail?: boolean;
}

export interface PolicyKeyFiles {
  keyrings: KeySourceText[];
  allowedSigners?: { name: string; text: string };
  revokedKeys?: { name: string; bytes: Uint8Array };
  /** X.509 roots and CRLs, a Sigstore trusted root and keyless identities: as the hook reads them. */
  x509Roots?: Array<{ name: string; text: string }>;
  crls?: Array<{ name: string; bytes: Uint8Array }>;
  trustedRoot?: { name: string; text: string };
  keylessIdentities?: KeylessIdentity[];
}

export interface CheckRegistries {
  registries: KeyRegistries;
  /** OpenPGP primary fingerprint or SSH `SHA256:` fingerprint → account, for forge keys only. */
  keyOwners: Map<string, ForgeAccountKeys>;
  /** Forge keys that could not be read (skipped, never fatal: one bad upload must not block everyone). */
  skipped: string[];
}

export async function buildCheckRegistries(files: PolicyKeyFiles, accounts: ForgeAccountKeys[]): Promise<CheckRegistries> {
  // The policy's files are the repository's declared trust: any problem in them is an error.
  const policyOpenPgp = await loadOpenPgpRegistry(files.keyrings);
  const policyFingerprints = new Set(policyOpenPgp.keys.map((key) => key.fingerprint));
  const policySigners = files.allowedSigners ? parseAllowedSigners(files.allowedSigners.text, files.allowedSigners.name) : [];
  const policySsh = new Set(policySigners.map((signer) => signer.fingerprint));
  const revoked = files.revokedKeys ? parseRevokedKeys(files.revokedKeys.bytes, files.revokedKeys.name) : undefined;

  const keyOwners = new Map<string, ForgeAccountKeys>();
  const skipped: string[] = [];
  const forgeKeyrings: KeySourceText[] = [];
  const forgeSigners: AllowedSigner[] = [];
  for (const account of accounts) {
    for (const [index, armored] of account.gpgKeys.entries()) {
      const source = { name: `${account.account} GPG key ${index + 1}`, text: armored };
      try {
        const single = await loadOpenPgpRegistry([source]);
        for (const key of single.keys) {
          if (policyFingerprints.has(key.fingerprint)) continue;
          keyOwners.set(key.fingerprint, account);
        }
        forgeKeyrings.push(source);
      } catch (error) {
        skipped.push(`${source.name}: ${(error as Error).message}`);
      }
    }
    const principals = account.verifiedEmails.length > 0 ? account.verifiedEmails : [`${account.account}@forge.invalid`];
    for (const [index, line] of account.sshSigningKeys.entries()) {
      const name = `${account.account} SSH signing key ${index + 1}`;
      const fields = line.trim().split(/\s+/);
      try {
        if (fields.length < 2 || /["\s]/.test(principals.join(','))) throw new Error('not an OpenSSH public key line');
        const [signer] = parseAllowedSigners(`${principals.join(',')} namespaces="git" ${fields[0]} ${fields[1]}`, name);
        if (!signer) throw new Error('empty key');
        if (!policySsh.has(signer.fingerprint)) keyOwners.set(signer.fingerprint, account);
        forgeSigners.push(signer);
      } catch (error) {
        skipped.push(`${name}: ${(error as Error).message}`);
      }
    }
  }

  // X.509 and keyless trust come from the policy alone (forges hold no such keys), built by the
  // same code as the hook's and `signet verify --policy`'s registries.
  const certificates =
    files.x509Roots || files.crls || files.trustedRoot || files.keylessIdentities
      ? await buildRegistries({
          keyrings: [],
          ...(files.x509Roots ? { x509Roots: files.x509Roots } : {}),
          ...(files.crls ? { crls: files.crls } : {}),
          ...(files.trustedRoot ? { trustedRoot: files.trustedRoot } : {}),
          ...(files.keylessIdentities ? { keylessIdentities: files.keylessIdentities } : {}),
        })
      : undefined;
  return {
    registries: {
      openpgp: forgeKeyrings.length > 0 ? await loadOpenPgpRegistry([...files.keyrings, ...forgeKeyrings]) : policyOpenPgp,
      // Policy lines first: ssh-keygen (and our verifier) consult allowed_signers in order.
      ssh: createSshRegistry([...policySigners, ...forgeSigners], revoked),
      ...(certificates?.x509 ? { x509: certificates.x509 } : {}),
      ...(certificates?.keyless ? { keyless: certificates.keyless } : {}),
    },
    keyOwners,
    skipped,
  };
}

/** The account that owns the key behind a verdict, when that key came from the forge only. */
export function forgeOwnerOf(verdict: SignatureVerdict, keyOwners: Map<string, ForgeAccountKeys>): ForgeAccountKeys | undefined {
  const key = verdict.format === 'openpgp' ? (verdict.primaryKey ?? verdict.key) : verdict.key;
  return key ? keyOwners.get(key) : undefined;
}

const GOOD = new Set(['G', 'X', 'Y']);

/**
 * GitHub's e-mail rule for a verdict made with a forge key: `accountOfEmail` answers which
 * account the forge links the committer e-mail to (undefined: none, so not verified anywhere).
 */
export function applyForgeEmailRule(
  verdict: SignatureVerdict,
  committerEmail: string,
  keyOwners: Map<string, ForgeAccountKeys>,
  accountOfEmail: (email: string) => string | undefined,
): SignatureVerdict {
  if (!GOOD.has(verdict.status)) return verdict;
  const owner = forgeOwnerOf(verdict, keyOwners);
  if (!owner || owner.trustedForAnyEmail) return verdict;
  const email = committerEmail.toLowerCase();
  if (verdict.format === 'openpgp' && verdict.emailMatches === false) {
    return { ...verdict, status: 'U', reason: 'bad_email', detail: `the committer e-mail ${email} is not a user ID of ${owner.account}'s key` };
  }
  const linked = accountOfEmail(email);
  if (!linked || linked.toLowerCase() !== owner.account.toLowerCase()) {
    return {
      ...verdict,
      status: 'U',
      reason: 'unverified_email',
      detail: `signed with a key of ${owner.account}, but the committer e-mail ${email} is not a verified e-mail of that account`,
    };
  }
  return vouchedIdentities(verdict, owner, email);
}

/**
 * A key someone uploaded to their own account carries whatever user IDs they wrote into it:
 * only the e-mails the forge verified on that account may name the signer (allow-lists,
 * `require_email_match`). Every other user ID is dropped from the verdict (issue 11 item 6).
 */
export function vouchedIdentities(verdict: SignatureVerdict, owner: ForgeAccountKeys, committerEmail: string): SignatureVerdict {
  const verified = new Set(owner.verifiedEmails.map((e) => e.toLowerCase()));
  const identities = (verdict.identities ?? []).filter((identity) => verified.has(identity.toLowerCase()));
  const signerAddress = verdict.signer ? (/<([^<>]+)>\s*$/.exec(verdict.signer)?.[1] ?? verdict.signer).toLowerCase() : undefined;
  const signerVouched = signerAddress !== undefined && verified.has(signerAddress);
  const unchanged = signerVouched && identities.length === (verdict.identities ?? []).length;
  if (unchanged) return verdict;
  const { signer: _dropped, ...rest } = verdict;
  const vouchedSigner = signerVouched ? verdict.signer : identities[0];
  return {
    ...rest,
    identities,
    ...(vouchedSigner ? { signer: vouchedSigner } : {}),
    emailMatches: identities.includes(committerEmail),
  };
}
